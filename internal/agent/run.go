package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/schedule"
	"github.com/ferry-ota/ferry/internal/agent/sdnotify"
	"github.com/ferry-ota/ferry/internal/agent/watchdog"
)

// Run is the daemon: it returns nil when ctx ends (a clean stop) and an
// error only when it cannot start.
func (a *Agent) Run(ctx context.Context) error {
	scfg, err := schedule.FromConfig(a.cfg, a.log)
	if err != nil {
		return err
	}
	scfg.OnDefer = a.onDefer
	sched, err := schedule.Start(scfg, a.clock.Now())
	if err != nil {
		return err
	}
	stopDogs, err := a.startBackground(ctx)
	if err != nil {
		return err
	}
	crashes, cause := sched.Crashes()
	a.note(healthlog.Entry{Kind: healthlog.KindStart, Message: fmt.Sprintf("agent started; %d crashes since the last clean exit %s", crashes, cause)})
	if err := a.ResumeTrial(ctx); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Error("resuming the trial", "err", err)
	}
	if err := a.notify.Ready(); err != nil {
		a.log.Warn("sd_notify READY", "err", err)
	}
	stopLoRa := a.startLoRa(ctx, sched)
	restart := a.loop(ctx, sched)
	stopLoRa()
	if err := a.notify.Stopping(); err != nil {
		a.log.Debug("sd_notify STOPPING", "err", err)
	}
	if err := sched.MarkClean(); err != nil {
		a.log.Warn("marking a clean exit", "err", err)
	}
	stopDogs()
	if restart {
		return ErrRestart
	}
	return nil
}

// loop runs the schedule until ctx ends (false) or a new agent binary is
// in place (true).
func (a *Agent) loop(ctx context.Context, sched *schedule.Scheduler) bool {
	for {
		a.status("idle; next check " + sched.Next().Format(time.RFC3339))
		if err := sched.WaitDue(ctx, a.clock); err != nil {
			return false
		}
		if _, err := a.Update(ctx); err != nil {
			a.log.Error("update", "err", err)
		}
		if ctx.Err() != nil {
			return false
		}
		if err := sched.Checked(a.clock.Now()); err != nil {
			a.log.Warn("schedule state", "err", err)
		}
		if v, err := a.UpdateSelf(ctx); err != nil {
			a.log.Error("agent self-update", "err", err)
		} else if v != "" {
			return true
		}
	}
}

// onDefer records a deferral in the health log when its reason changes.
func (a *Agent) onDefer(reason string, next time.Time) {
	if reason == a.lastDefer {
		return
	}
	a.lastDefer = reason
	a.note(healthlog.Entry{Kind: healthlog.KindDeferral, Message: reason + "; next try " + next.Format(time.RFC3339)})
	a.status("deferred: " + reason)
}

// startBackground starts the LED and the watchdog keeper on their own
// goroutines. The returned stop ends them and disarms /dev/watchdog.
func (a *Agent) startBackground(ctx context.Context) (stop func(), err error) {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if a.led != nil {
		wg.Go(func() { a.led.Run(bg) })
	}
	feeders, interval, dev, err := a.watchdogs()
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	if len(feeders) > 0 {
		k := watchdog.NewKeeper(watchdog.KeeperConfig{Clock: a.clock, Interval: interval, Logger: a.log}, feeders...)
		a.kick = k.Kick
		wg.Go(func() { k.Run(bg) })
	}
	return func() {
		cancel()
		wg.Wait()
		if dev != nil {
			if err := dev.Close(); err != nil {
				a.log.Warn("watchdog magic close", "err", err)
			}
		}
	}, nil
}

// watchdogs returns systemd's and the device's watchdog and the period to
// feed them: half of each one's timeout.
func (a *Agent) watchdogs() (feeders []watchdog.Feeder, interval time.Duration, dev *watchdog.Device, err error) {
	sd, on, err := sdnotify.WatchdogInterval(a.getenv)
	if err != nil {
		a.log.Warn("systemd watchdog", "err", err)
	}
	if on && a.notify.Enabled() {
		feeders = append(feeders, a.notify)
	}
	var devEvery time.Duration
	if a.cfg.WatchdogDevice != "" {
		if dev, err = watchdog.Open(a.cfg.WatchdogDevice); err != nil {
			return nil, 0, nil, fmt.Errorf("watchdog_device: %w", err)
		}
		timeout := time.Duration(a.cfg.WatchdogTimeoutMS) * time.Millisecond
		if err := dev.SetTimeout(timeout); err != nil {
			a.log.Warn("watchdog keeps the driver's timeout: feeding at half of watchdog_timeout_ms anyway", "err", err)
		}
		devEvery = timeout / 2
		feeders = append(feeders, dev)
	}
	return feeders, watchdog.Interval(sd, devEvery), dev, nil
}
