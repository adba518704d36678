package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/update"
)

func cmdUpdate(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("update", "Recover any interrupted transaction, poll the origin, verify the channel pointer\nand manifest against the pinned root keys, and install a newer release crash-safely.\nPrints one line: \"updated A -> B (N files, M bytes)\" or \"up to date (B)\".", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	opt, err := a.UpdateOptions()
	if err != nil {
		return err
	}
	res, err := update.Run(ctx, opt)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}

func cmdRecover(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("recover", "Finish or undo a transaction that a crash or power cut interrupted.\nSafe to run at every boot, and any number of times.", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	inflight, err := a.Installer.InFlight()
	if err != nil {
		return err
	}
	if err := a.Installer.Recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	rec, err := a.Installer.Installed()
	if err != nil {
		return err
	}
	switch {
	case inflight == nil:
		fmt.Fprintf(stdout, "nothing to recover (%s)\n", versionOf(rec))
	default:
		fmt.Fprintf(stdout, "recovered: %s is installed (interrupted transaction to %s resolved)\n", versionOf(rec), inflight.Version)
	}
	return nil
}
