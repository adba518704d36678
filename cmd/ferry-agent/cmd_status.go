package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferry-ota/ferry/internal/agent"
	"github.com/ferry-ota/ferry/internal/device"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/selfupdate"
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
	if err := printAgent(stdout, a); err != nil {
		return err
	}
	return agent.WriteStatus(stdout, a.Config)
}

// printAgent tells the running agent's version and target, and the agent
// versions that failed their self-check here.
func printAgent(w io.Writer, a *device.Device) error {
	fmt.Fprintf(w, "agent:       %s (target %s)\n", version, selfupdate.Target())
	self, err := selfUpdater(a)
	if err != nil {
		return err
	}
	failed, err := self.FailedVersions()
	if err != nil {
		return err
	}
	for _, f := range failed {
		fmt.Fprintf(w, "agent failed: %s at %s (not tried again): %s\n", f.Version, f.At.Format(time.RFC3339), f.Reason)
	}
	return nil
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
		if rec.Slot != "" {
			fmt.Fprintf(w, "layout:      slots: slot %s is current", rec.Slot)
			if rec.Previous != nil {
				fmt.Fprintf(w, "; %s in slot %s (ferry-agent rollback returns to it)", rec.Previous.Version, rec.Previous.Slot)
			}
			fmt.Fprintln(w)
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
