package main

import (
	"context"
	"fmt"
	"io"
)

func cmdRollback(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("rollback", "Roll the release on trial back to the previous release, by hand.", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	unlock, err := a.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := a.Installer.Recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	cur, err := a.Installer.Installed()
	if err != nil {
		return err
	}
	prev, err := a.Installer.Rollback(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rolled back %s -> %s\n", versionOf(cur), versionOf(prev))
	return nil
}

func cmdConfirm(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("confirm", "Confirm the release on trial: keep it and drop the previous release's backups.", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	unlock, err := a.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := a.Installer.Recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if err := a.Installer.Confirm(ctx); err != nil {
		return err
	}
	rec, err := a.Installer.Installed()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "confirmed %s\n", versionOf(rec))
	return nil
}
