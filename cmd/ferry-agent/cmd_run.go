package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"syscall"

	"github.com/ferry-ota/ferry/internal/agent"
	"github.com/ferry-ota/ferry/internal/device"
)

func cmdRun(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("run", "The daemon. Resume a release left on trial, then forever: wait for the schedule\n"+
		"(check_interval_sec with jitter, update window, battery, crash backoff), poll, install\n"+
		"a newer release on trial, run the health gate, and confirm it or roll it back.\n"+
		"Speaks sd_notify (Type=notify, WatchdogSec=) and feeds watchdog_device. Logs to stderr.", &c)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	dev, err := device.Open(c.config, log, version)
	if err != nil {
		return err
	}
	if err := recoverSelf(dev); err != nil {
		return err
	}
	self, err := selfUpdater(dev)
	if err != nil {
		return err
	}
	a, err := agent.New(dev, agent.Options{Logger: log, SelfUpdate: self})
	if err != nil {
		return err
	}
	err = a.Run(ctx)
	if errors.Is(err, agent.ErrRestart) {
		log.Info("re-executing the new agent binary", "exe", self.Exe)
		return syscall.Exec(self.Exe, os.Args, os.Environ()) // returns only on failure: systemd restarts us
	}
	return err
}
