package main

import (
	"context"
	"fmt"
	"io"
)

func cmdRollback(ctx context.Context, args []string, stdout io.Writer) error {
	a, unlock, err := lockedAgent(ctx, "rollback", "Roll the release on trial back to the previous release, by hand.", args)
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
	a, unlock, err := lockedAgent(ctx, "confirm", "Confirm the release on trial: keep it and drop the previous release's backups.", args)
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
