// Package health runs the health gate of a release on trial: the operator's
// hooks, the application's restart, and the check that decides whether the
// new release is confirmed or rolled back.
//
// The sequence, driven by the update cycle:
//
//	PreInstall   pre_install, before anything is swapped; failure aborts
//	             the install and nothing changes on disk
//	  … swap …
//	Trial        post_install, then restart_command, then within
//	             health_timeout_sec either health_command until it exits 0
//	             (retried every PollInterval: an application takes a moment
//	             to come up) or, with health_file, until that file is touched
//	             after the restart; any failure fails the trial
//	  … confirm, or roll back and then …
//	Restart      restart_command again, on the old release
//
// Every command runs through package command: /bin/sh -c, its own process
// group killed at the deadline, output bounded; each step's output is kept
// in the Result for the health log. Hooks get FERRY_VERSION,
// FERRY_PREVIOUS_VERSION and FERRY_TARGET in their environment.
//
// "Touched after the restart" compares the file's identity (existence, size,
// modification time, inode) with what it was just before the restart, not
// the wall clock: a field device's clock may be wrong by years.
//
// With neither health_command nor health_file the gate passes when the
// restart succeeds: configure a check to get real protection.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/agent/command"
	"github.com/ferry-ota/ferry/internal/config"
)

// ErrUnhealthy wraps every failed gate; the message says which step failed.
var ErrUnhealthy = errors.New("health: release unhealthy")

// Config configures the gate.
type Config struct {
	PreInstall, PostInstall string
	RestartCommand          string
	HealthCommand           string
	HealthFile              string
	Timeout                 time.Duration // budget for the health check after the restart; default 60s
	HookTimeout             time.Duration // per hook or restart command; default Timeout
	PollInterval            time.Duration // between health attempts; default 2s
	OutputLimit             int           // bytes of output kept per step; default command.DefaultLimit
	Target                  string        // passed to hooks as FERRY_TARGET
	Clock                   clock.Clock
	Logger                  *slog.Logger
}

// FromConfig maps the agent's config keys.
func FromConfig(c *config.Config, clk clock.Clock, logger *slog.Logger) Config {
	d := c.Daemon
	return Config{
		PreInstall: d.PreInstall, PostInstall: d.PostInstall,
		RestartCommand: d.RestartCommand, HealthCommand: d.HealthCommand, HealthFile: d.HealthFile,
		Timeout: time.Duration(d.HealthTimeoutSec) * time.Second,
		Target:  c.Target, Clock: clk, Logger: logger,
	}
}

// Step is one command the gate ran.
type Step struct {
	Name     string // "pre_install", "post_install", "restart_command", "health_command", "health_file"
	Command  string
	Output   string
	ExitCode int
	Err      error
	Duration time.Duration
}

// Result is the outcome of a gate.
type Result struct {
	Healthy bool
	Reason  string // why it failed, or "healthy: …"
	Steps   []Step
}

// Checker runs the gate.
type Checker struct {
	cfg Config
}

// New returns a Checker, filling defaults.
func New(cfg Config) *Checker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = cfg.Timeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Checker{cfg: cfg}
}

// Versions name the releases involved, for the hooks' environment.
type Versions struct{ New, Previous string }

func (c *Checker) env(v Versions) []string {
	return []string{"FERRY_VERSION=" + v.New, "FERRY_PREVIOUS_VERSION=" + v.Previous, "FERRY_TARGET=" + c.cfg.Target}
}

// run runs one command as step name; an empty line is skipped (ok, no step).
func (c *Checker) run(ctx context.Context, name, line string, v Versions, timeout time.Duration) (Step, bool) {
	if line == "" {
		return Step{}, false
	}
	res, err := command.RunEnv(ctx, line, c.env(v), timeout, c.cfg.OutputLimit)
	s := Step{Name: name, Command: line, Output: string(res.Output), ExitCode: res.ExitCode, Err: err, Duration: res.Duration}
	lvl := slog.LevelInfo
	if err != nil {
		lvl = slog.LevelWarn
	}
	c.cfg.Logger.Log(ctx, lvl, "ran "+name, "command", line, "exit", res.ExitCode,
		"duration", res.Duration.Round(time.Millisecond), "output", s.Output, "err", err)
	return s, true
}

// PreInstall runs the pre_install hook. An error means: do not install.
func (c *Checker) PreInstall(ctx context.Context, v Versions) (Step, error) {
	s, ran := c.run(ctx, "pre_install", c.cfg.PreInstall, v, c.cfg.HookTimeout)
	if ran && s.Err != nil {
		return s, fmt.Errorf("%w: pre_install: %w", ErrUnhealthy, s.Err)
	}
	return s, nil
}

// Restart runs restart_command, e.g. after a rollback.
func (c *Checker) Restart(ctx context.Context, v Versions) (Step, error) {
	s, ran := c.run(ctx, "restart_command", c.cfg.RestartCommand, v, c.cfg.HookTimeout)
	if ran && s.Err != nil {
		return s, fmt.Errorf("%w: restart_command: %w", ErrUnhealthy, s.Err)
	}
	return s, nil
}
