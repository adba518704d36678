package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferry-ota/ferry/internal/agent"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/update"
)

func cmdStatus(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("status", "Print the installed release, its sequence and manifest hash, the last check,\nand any transaction in flight.", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	rec, err := a.Installer.Installed()
	if err != nil {
		return err
	}
	inflight, err := a.Installer.InFlight()
	if err != nil {
		return err
	}
	last, err := update.LastCheck(a.Installer)
	if err != nil {
		return err
	}
	keysVersion, err := update.TrustedKeys(a.Installer)
	if err != nil {
		return err
	}
	printStatus(stdout, rec, inflight, last)
	if keysVersion == 0 {
		fmt.Fprintln(stdout, "signing keys: no versioned list verified yet")
	} else {
		fmt.Fprintf(stdout, "signing keys: list version %d (older lists are refused)\n", keysVersion)
	}
	return agent.WriteStatus(stdout, a.Config)
}

func printStatus(w io.Writer, rec, inflight *install.Record, last time.Time) {
	if rec == nil {
		fmt.Fprintln(w, "installed:   nothing")
	} else {
		fmt.Fprintf(w, "installed:   %s (channel %s, sequence %d)\n", rec.Version, rec.Channel, rec.Sequence)
		fmt.Fprintf(w, "manifest:    %s\n", rec.Manifest)
		fmt.Fprintf(w, "installed at: %s\n", rec.InstalledAt.Format(time.RFC3339))
		if rec.Trial {
			fmt.Fprintf(w, "trial:       on trial; previous %s\n", versionOf(rec.Previous))
		}
	}
	if last.IsZero() {
		fmt.Fprintln(w, "last check:  never")
	} else {
		fmt.Fprintf(w, "last check:  %s\n", last.Format(time.RFC3339))
	}
	switch {
	case inflight == nil:
		fmt.Fprintln(w, "in flight:   none")
	case rec.Same(inflight) && rec.Trial:
		fmt.Fprintln(w, "in flight:   none (backups kept for the trial)")
	default:
		fmt.Fprintf(w, "in flight:   transaction to %s (run `ferry-agent recover`)\n", inflight.Version)
	}
}

func versionOf(r *install.Record) string {
	if r == nil {
		return "nothing installed"
	}
	return r.Version
}
