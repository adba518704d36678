package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferry-ota/ferry/internal/agent"
)

func cmdRollback(ctx context.Context, args []string, stdout io.Writer) error {
	a, unlock, err := lockedAgent(ctx, "rollback", "Roll back to the previous release, by hand: the release on trial (in place), or\nthe current one, on trial or not (the slots layout flips back to the previous slot).\nThe release rolled back from is recorded as failed: it is not installed again, only\na newer one.", args)
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
	if err := agent.MarkFailed(a.Config.State, cur, "rolled back by hand (ferry-agent rollback)", time.Now()); err != nil {
		a.Log.Warn("could not record the release rolled back from: it may be installed again", "version", cur.Version, "err", err)
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
