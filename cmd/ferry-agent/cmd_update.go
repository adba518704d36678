package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/agent"
	"github.com/ferry-ota/ferry/internal/device"
)

func cmdUpdate(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("update", "Recover any interrupted transaction, poll the origin, verify the channel pointer\nand manifest against the pinned root keys, install a newer release crash-safely on\ntrial, run the health gate (post_install, restart_command, health_command) and\nconfirm it or roll it back.\nPrints one line: \"updated A -> B (N files, M bytes)\" or \"up to date (B)\".", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := loadAgent(&c)
	if err != nil {
		return err
	}
	self, err := selfUpdater(a)
	if err != nil {
		return err
	}
	ag, err := agent.New(a, agent.Options{Logger: a.Log, SelfUpdate: self})
	if err != nil {
		return err
	}
	res, err := ag.Update(ctx) // on trial, then the health gate: confirm or roll back
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	v, err := ag.UpdateSelf(ctx) // after the application: its release is settled either way
	if err != nil {
		return err
	}
	if v != "" {
		fmt.Fprintf(stdout, "agent updated %s -> %s\n", version, v)
	}
	return nil
}

func cmdRecover(ctx context.Context, args []string, stdout io.Writer) error {
	a, unlock, err := lockedAgent(ctx, "recover", "Finish or undo a transaction that a crash or power cut interrupted.\nSafe to run at every boot, and any number of times.", args)
	if err != nil {
		return err
	}
	defer unlock()
	inflight, err := a.Installer.InFlight()
	if err != nil {
		return err
	}
	if err := recoverSelf(a); err != nil {
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

// recoverSelf puts the previous agent binary back if a self-update was
// interrupted (see package selfupdate).
func recoverSelf(a *device.Device) error {
	self, err := selfUpdater(a)
	if err != nil {
		return err
	}
	if err := self.Recover(); err != nil {
		return fmt.Errorf("recover the agent binary: %w", err)
	}
	return nil
}
