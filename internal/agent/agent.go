// Package agent is the daemon behind `ferry-agent run`, and the health gate
// that `ferry-agent update` shares with it. It wires the small packages
// beside it:
//
//	schedule   when a check may run, and why not (windows, battery, crashes)
//	canary     whether this device takes a release under a staged rollout
//	health     hooks, application restart and the health check
//	healthlog  the bounded history behind `ferry-agent status`
//	watchdog   the Keeper feeding systemd and /dev/watchdog from its own goroutine
//	sdnotify   READY=1, STATUS=…, WATCHDOG=1
//	led        the status LED
//
// One update (Update) is: package update polls and verifies the channel;
// before anything is downloaded, Admit refuses a release that failed its
// health gate before (until a newer one appears), a release outside this
// device's canary bucket, and any release when pre_install fails. The
// release is installed on trial (package install keeps the previous
// release's files); then the gate runs post_install, restart_command and the
// health check. Healthy: Confirm. Unhealthy: the release is recorded in
// <state>/failed.json, rolled back, and the application restarted on the
// previous release.
//
// The trial survives reboots: at every start (ResumeTrial) a release still on
// trial counts one more start in <state>/trial-boots.json; past
// max_trial_boots it is rolled back without another try (the device crash-
// looped before confirming), otherwise the gate runs again.
//
// With report_url set, every cycle (of Update, alone or under Run, and a
// trial settled by ResumeTrial) ends with a signed report to the fleet
// service (see internal/fleet/reporter): the
// device's key is <state>/fleet.key, unsent reports wait in <state>/reports.
//
// Run is the daemon loop: start the watchdog keeper and the LED, resume a
// trial, send READY=1, then forever wait for the schedule and Update. On a
// clean stop it marks the exit clean (crash backoff), sends STOPPING=1 and
// disarms /dev/watchdog.
package agent

import (
	"context"
	"errors"
	"github.com/ferry-ota/ferry/internal/selfupdate"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/agent/health"
	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/led"
	"github.com/ferry-ota/ferry/internal/agent/sdnotify"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/device"
	"github.com/ferry-ota/ferry/internal/fleet/reporter"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/link"
	"github.com/ferry-ota/ferry/internal/update"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrUnhealthy means a release failed its health gate and was rolled back.
	ErrUnhealthy = errors.New("agent: release failed its health check and was rolled back")
	// ErrState means an agent state file could not be read or written.
	ErrState = errors.New("agent: state file")
	// ErrRestart means the daemon stopped because a new agent binary was
	// swapped in: the caller re-executes it.
	ErrRestart = errors.New("agent: a new agent binary is in place: restart")
)

// Agent runs updates with the health gate, once or as a daemon.
type Agent struct {
	dev       *device.Device
	cfg       *config.Config
	in        *install.Installer
	opt       update.Options
	cycle     func(context.Context, update.Options) (*update.Result, error)
	health    *health.Checker
	history   *healthlog.Log
	deviceID  string // "" when unknown: staged rollouts then wait
	clock     clock.Clock
	log       *slog.Logger
	led       *led.LED // nil without an LED
	notify    *sdnotify.Notifier
	getenv    func(string) string
	kick      func() // the watchdog keeper's Kick while Run runs
	lastDefer string
	self      *selfupdate.Updater // nil: the agent does not update itself
	reporter  *reporter.Reporter  // nil without report_url
	links     *link.Manager       // nil without [[transport]] links
}

// Options are the parts of an Agent that are not in the config file.
type Options struct {
	Clock         clock.Clock         // default clock.Real
	Logger        *slog.Logger        // default: discard
	Getenv        func(string) string // default os.Getenv (NOTIFY_SOCKET, WATCHDOG_USEC)
	MachineIDPath string              // default /etc/machine-id
	// SelfUpdate, if set, updates the agent binary from releases that
	// carry one for this device (after the application's update).
	SelfUpdate *selfupdate.Updater
	LinkProber link.Prober // default link.Interfaces (tests)
}

// New builds an Agent for the device.
func New(dev *device.Device, o Options) (*Agent, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	opt, err := dev.UpdateOptions()
	if err != nil {
		return nil, err
	}
	cycle, err := dev.Cycle()
	if err != nil {
		return nil, err
	}
	cfg := dev.Config
	hist, err := healthlog.Open(filepath.Join(cfg.State, healthlog.FileName), cfg.ErrorHistoryLimit, o.Clock)
	if err != nil {
		return nil, err
	}
	a := &Agent{dev: dev, cfg: cfg, in: dev.Installer, opt: opt, cycle: cycle, history: hist, clock: o.Clock, log: o.Logger,
		health: health.New(health.FromConfig(cfg, o.Clock, o.Logger)), notify: sdnotify.New(o.Getenv), getenv: o.Getenv, self: o.SelfUpdate}
	a.links = a.newLinks(o.LinkProber)
	if a.deviceID, err = canary.DeviceID(cfg.DeviceID, o.MachineIDPath); err != nil {
		a.log.Warn("no device id: staged rollouts below 100% will not be taken", "err", err)
	}
	if cfg.ReportURL != "" {
		a.reporter = a.openReporter()
	}
	if cfg.LED != "" {
		if a.led, err = led.New(cfg.LED, o.Clock, o.Logger); err != nil {
			a.log.Warn("status led unavailable", "err", err)
		}
	}
	return a, nil
}

// History returns the health log.
func (a *Agent) History() *healthlog.Log { return a.history }

// phase shows what the agent does on the LED and in systemd's status line.
func (a *Agent) phase(s led.State, status string) {
	a.led.Set(s)
	a.status(status)
}

// status sets systemd's status line only: the LED keeps showing the outcome
// of the last check (success, error) until the next one starts.
func (a *Agent) status(status string) {
	if err := a.notify.Status(status); err != nil {
		a.log.Debug("sd_notify status", "err", err)
	}
}

// note adds an entry to the health log; a failing log is logged, not fatal.
func (a *Agent) note(e healthlog.Entry) {
	if err := a.history.Add(e); err != nil {
		a.log.Warn("health log", "err", err)
	}
}
