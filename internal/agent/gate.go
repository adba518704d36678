package agent

import (
	"context"
	"fmt"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/agent/health"
	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/led"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/link"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/update"
)

// Update runs one update cycle with the health gate. A release that fails
// the gate is rolled back and the error wraps ErrUnhealthy. With report_url
// set, the cycle is then reported to the fleet service; a failure to report
// never fails the update.
func (a *Agent) Update(ctx context.Context) (*update.Result, error) {
	unlock, err := a.dev.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	start := a.clock.Now()
	res, err := a.update(ctx)
	a.report(ctx, start, res, err)
	return res, err
}

// update is one cycle under the device lock.
func (a *Agent) update(ctx context.Context) (*update.Result, error) {
	a.phase(led.Checking, "checking for updates")
	opt := a.opt
	opt.Trial = true
	cyc, deferred := a.beginLinks(ctx, &opt)
	if deferred != nil {
		return a.deferNoLink(deferred), nil
	}
	opt.Admit = a.admitter(ctx, cyc)
	opt.Progress = a.progress
	res, err := a.cycle(ctx, opt)
	a.endLinks(cyc, res)
	if err != nil {
		a.note(healthlog.Entry{Kind: healthlog.KindError, Message: err.Error()})
		a.phase(led.Error, "update failed: "+err.Error())
		return nil, err
	}
	a.log.Info("checked", "result", res.String())
	switch {
	case res.Deferred != "":
		a.note(healthlog.Entry{Kind: healthlog.KindDeferral, Version: res.To, Message: withLink(res.Deferred, cyc)})
	case res.Link != "" && !res.UpToDate:
		a.note(healthlog.Entry{Kind: healthlog.KindCheck, Version: res.To, Message: withLink(res.String(), cyc)})
	}
	// A routine "up to date" is not appended to the health log: a poll with
	// nothing new writes nothing (flash wear); poll.json holds the last check.
	rec, err := a.in.Installed()
	if err != nil {
		return res, err
	}
	if rec != nil && rec.Trial {
		return res, a.gate(ctx, rec)
	}
	a.phase(led.Idle, res.String())
	return res, nil
}

// admitter returns update.Options.Admit: failed releases, canary, pre_install.
func (a *Agent) admitter(ctx context.Context, cyc *link.Cycle) func(p *manifest.Pointer) (bool, string) {
	return func(p *manifest.Pointer) (bool, string) {
		if cyc != nil { // before the manifest: a wait for a free link needs no byte count
			if why, err := cyc.Wait(p); err != nil || why != "" {
				return false, waitReason(why, err)
			}
		}
		if f, ok, err := a.failedRelease(p.Manifest); ok {
			return false, fmt.Sprintf("release %s failed its health check at %s (%s): waiting for a newer release",
				f.Version, f.At.Format("2006-01-02 15:04"), f.Reason)
		} else if err != nil {
			a.log.Warn("failed-release list unreadable", "err", err)
		}
		if p.Rollout < 100 {
			if a.deviceID == "" {
				return false, fmt.Sprintf("staged rollout at %d%% and no device id: set device_id", p.Rollout)
			}
			if b := canary.Bucket(a.deviceID, p.Version); b >= p.Rollout {
				return false, fmt.Sprintf("staged rollout at %d%%: this device's bucket is %d", p.Rollout, b)
			}
		}
		step, err := a.health.PreInstall(ctx, health.Versions{New: p.Version, Previous: a.installedVersion()})
		if err != nil {
			a.note(healthlog.Entry{Kind: healthlog.KindError, Version: p.Version, Message: err.Error(), Output: step.Output})
			return false, "pre_install failed: " + err.Error()
		}
		a.phase(led.Downloading, "downloading "+p.Version)
		return true, ""
	}
}

func (a *Agent) progress(doneFiles, totalFiles int, doneBytes, totalBytes int64) {
	if a.kick != nil {
		a.kick()
	}
}

func (a *Agent) installedVersion() string {
	rec, err := a.in.Installed()
	if err != nil || rec == nil {
		return ""
	}
	return rec.Version
}

// gate runs the health gate for rec, on trial, and confirms or rolls back.
func (a *Agent) gate(ctx context.Context, rec *install.Record) error {
	a.phase(led.Installing, "on trial: "+rec.Version)
	v := health.Versions{New: rec.Version}
	if rec.Previous != nil {
		v.Previous = rec.Previous.Version
	}
	r := a.health.Trial(ctx, v)
	if ctx.Err() != nil {
		return ctx.Err() // stopped mid-gate: the trial resumes at the next start
	}
	if !r.Healthy {
		return a.rollback(ctx, rec, r.Reason, lastOutput(r))
	}
	if err := a.in.Confirm(ctx); err != nil {
		return fmt.Errorf("confirm %s: %w", rec.Version, err)
	}
	if err := a.clearTrialBoots(); err != nil {
		a.log.Warn("trial boot counter", "err", err)
	}
	a.log.Info("release confirmed", "version", rec.Version, "reason", r.Reason)
	a.note(healthlog.Entry{Kind: healthlog.KindUpdate, Version: rec.Version, Message: r.Reason})
	a.phase(led.Success, "running "+rec.Version)
	return nil
}

// rollback records rec as failed, rolls it back and restarts the application.
func (a *Agent) rollback(ctx context.Context, rec *install.Record, reason, output string) error {
	a.log.Error("release unhealthy: rolling back", "version", rec.Version, "reason", reason)
	if err := a.markFailed(rec, reason); err != nil {
		a.log.Warn("could not record the failed release", "err", err)
	}
	prev, err := a.in.Rollback(ctx)
	if err != nil {
		a.note(healthlog.Entry{Kind: healthlog.KindError, Version: rec.Version, Message: "rollback: " + err.Error()})
		return fmt.Errorf("rollback of %s after %q: %w", rec.Version, reason, err)
	}
	if err := a.clearTrialBoots(); err != nil {
		a.log.Warn("trial boot counter", "err", err)
	}
	v := health.Versions{Previous: rec.Version}
	if prev != nil {
		v.New = prev.Version
	}
	step, rerr := a.health.Restart(ctx, v)
	msg := fmt.Sprintf("rolled back %s -> %s: %s", rec.Version, orNone(v.New), reason)
	if rerr != nil {
		msg += "; restart after rollback failed: " + rerr.Error()
		output = step.Output
	}
	a.note(healthlog.Entry{Kind: healthlog.KindRollback, Version: rec.Version, Message: msg, Output: output})
	a.phase(led.Error, msg)
	return fmt.Errorf("%w: %s", ErrUnhealthy, msg)
}

// ResumeTrial settles a release left on trial by a crash or reboot: past
// max_trial_boots starts it is rolled back, otherwise the gate runs again.
func (a *Agent) ResumeTrial(ctx context.Context) error {
	unlock, err := a.dev.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := a.in.Recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	rec, err := a.in.Installed()
	if err != nil {
		return err
	}
	if rec == nil || !rec.Trial {
		return a.clearTrialBoots()
	}
	n, err := a.countTrialBoot(rec)
	if err != nil {
		a.log.Warn("trial boot counter", "err", err)
	}
	start := a.clock.Now()
	if n > a.cfg.MaxTrialBoots {
		why := fmt.Sprintf("%d starts on trial without confirming (max_trial_boots %d)", n, a.cfg.MaxTrialBoots)
		err = a.rollback(ctx, rec, why, "")
	} else {
		a.log.Info("release on trial after a restart: running the health gate again", "version", rec.Version, "start", n)
		err = a.gate(ctx, rec)
	}
	a.report(ctx, start, &update.Result{From: versionOf(rec.Previous), To: rec.Version}, err) // the trial's end is a cycle's
	return err
}

func versionOf(r *install.Record) string {
	if r == nil {
		return ""
	}
	return r.Version
}

func lastOutput(r health.Result) string {
	if len(r.Steps) == 0 {
		return ""
	}
	return r.Steps[len(r.Steps)-1].Output
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
