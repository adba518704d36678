// Package schedule decides when `ferry-agent run` may check for and install
// an update, and says why not when it may not.
//
// A fleet must not poll in lockstep, and a device on a bad day (flat battery,
// crash loop, users at work) must not update. The Scheduler folds every rule
// into one question, Decide(now), answered with ok, a reason for the log and
// the next time worth asking:
//
//  1. Crash backoff. At Start the agent counts an unclean exit (the running
//     marker agent.running, removed by MarkClean on a clean exit, is still
//     there) and a watchdog reset (a non-zero /sys/class/watchdog/*/bootstatus,
//     counted once per boot id). After max_crashes_before_delay of them,
//     updates wait crash_delay_sec after the latest.
//  2. Minimum interval. Never two checks closer than min_update_interval_sec,
//     across restarts: the time of the last check is persisted in
//     schedule.json, so a crash loop does not become a poll loop.
//  3. Poll interval. Checks are check_interval_sec apart, each interval
//     stretched or shrunk by a uniform random jitter of ±Jitter (10%). The
//     first check after start is due at last check + a jittered interval; a
//     device that never checked checks at once; one that is overdue (after
//     a site-wide power cut, say) waits a random part of the jitter span, so
//     a fleet that comes back at once does not poll in the same second.
//  4. Window. update_window_start_hour/end_hour in local time, [start, end),
//     across midnight when start > end, the whole day when start == end. With
//     power_source = "solar" the solar window (solar_window_start_hour/
//     end_hour, default 10 to 16) replaces it: a solar device updates while
//     the sun charges it.
//  5. Battery. With min_battery_percent > 0, the charge from battery_command,
//     else from the capacity files under battery_path (default
//     /sys/class/power_supply) must reach it. An unreadable battery defers
//     (fail closed) and the reason says what to fix.
//
// When several rules defer, the latest time among 1–3 wins, moved into the
// window. State is written only when it changes, atomically (package
// statefile), so the scheduler does not wear flash.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/atomicfile"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrConfig means a scheduling setting is invalid.
	ErrConfig = errors.New("schedule: invalid config")
	// ErrState means the state folder could not be read or written.
	ErrState = errors.New("schedule: state")
	// ErrBattery means the battery charge could not be read.
	ErrBattery = errors.New("schedule: battery unreadable")
)

// ReasonNotDue is Decide's reason when only the poll interval holds a check
// back: an ordinary wait, not a deferral worth recording.
const ReasonNotDue = "next check not due yet"

// Scheduler applies the rules of the package doc. It is safe for concurrent use.
type Scheduler struct {
	cfg  Config
	log  *slog.Logger
	mu   sync.Mutex
	st   state
	next time.Time // next jittered poll
	rand *rand.Rand
	wake chan struct{} // CheckSoon wakes WaitDue
}

// Start loads the persisted state from cfg.StateDir, counts a crash or a
// watchdog reset since the previous run, writes the running marker and
// returns the scheduler. now is the clock's time.
func Start(cfg Config, now time.Time) (*Scheduler, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Scheduler{cfg: cfg, log: cfg.Logger, rand: cfg.Rand, wake: make(chan struct{}, 1)}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.noticeCrashes(now)
	if err := atomicfile.Write(filepath.Join(s.cfg.StateDir, MarkerFile), []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("%w: running marker: %w", ErrState, err)
	}
	if err := s.save(); err != nil {
		return nil, err
	}
	s.next = now
	if !s.st.LastCheck.IsZero() {
		s.next = s.st.LastCheck.Add(s.jittered())
	}
	if s.next.Before(now) && !s.st.LastCheck.IsZero() {
		// Overdue after a long outage: spread the fleet that comes back at
		// once over the jitter span instead of all polling this second.
		s.next = now.Add(time.Duration(s.rand.Float64() * s.cfg.Jitter * float64(s.cfg.CheckInterval)))
	}
	return s, nil
}

// Decide reports whether an update check may run at now. When it may not,
// reason says why in words fit for the log and next is the earliest time
// worth asking again. It reads the battery, so it takes a context.
func (s *Scheduler) Decide(ctx context.Context, now time.Time) (ok bool, reason string, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, why := s.timeGate(now); until.After(now) {
		return false, why, s.inWindow(until)
	}
	if w := s.window(); w != nil && !w.Contains(now) {
		return false, fmt.Sprintf("outside the %s window %s (local time)", s.windowName(), w), w.NextOpen(now)
	}
	if ok, why := s.batteryGate(ctx); !ok {
		return false, why, s.inWindow(now.Add(s.cfg.BatteryRetry))
	}
	return true, "due", now
}

// timeGate returns the latest of the crash, minimum-interval and poll gates.
func (s *Scheduler) timeGate(now time.Time) (time.Time, string) {
	until, why := s.next, ReasonNotDue
	if s.cfg.MinUpdateInterval > 0 && !s.st.LastCheck.IsZero() {
		if t := s.st.LastCheck.Add(s.cfg.MinUpdateInterval); t.After(until) {
			until, why = t, fmt.Sprintf("min_update_interval_sec: last check at %s", s.st.LastCheck.Format(time.RFC3339))
		}
	}
	if s.cfg.MaxCrashesBeforeDelay > 0 && s.st.Crashes >= s.cfg.MaxCrashesBeforeDelay {
		if t := s.st.CrashAt.Add(s.cfg.CrashDelay); t.After(until) {
			until, why = t, fmt.Sprintf("crash backoff: %d crashes (last: %s), max_crashes_before_delay is %d",
				s.st.Crashes, s.st.LastCause, s.cfg.MaxCrashesBeforeDelay)
		}
	}
	return until, why
}

func (s *Scheduler) batteryGate(ctx context.Context) (bool, string) {
	if s.cfg.MinBatteryPercent <= 0 {
		return true, ""
	}
	p, err := s.cfg.Battery.Percent(ctx)
	if err != nil {
		return false, fmt.Sprintf("battery: %v", err)
	}
	if p < s.cfg.MinBatteryPercent {
		return false, fmt.Sprintf("battery at %d%%, below min_battery_percent %d", p, s.cfg.MinBatteryPercent)
	}
	return true, ""
}

func (s *Scheduler) window() *Window {
	if s.cfg.Solar {
		return s.cfg.SolarWindow
	}
	return s.cfg.Window
}

func (s *Scheduler) windowName() string {
	if s.cfg.Solar {
		return "solar"
	}
	return "update"
}

func (s *Scheduler) inWindow(t time.Time) time.Time {
	if w := s.window(); w != nil {
		return w.NextOpen(t)
	}
	return t
}

// Checked records that a check ran at now (whatever its outcome): it
// persists the time for min_update_interval_sec and schedules the next poll
// a jittered check interval later.
func (s *Scheduler) Checked(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.LastCheck = now
	s.next = now.Add(s.jittered())
	return s.save()
}

// CheckSoon makes the next poll due at now (a LoRa trigger: a newer release
// is out). The other gates still hold: min_update_interval_sec, the crash
// backoff, the window and the battery.
func (s *Scheduler) CheckSoon(now time.Time) {
	s.mu.Lock()
	if now.Before(s.next) {
		s.next = now
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Next returns the time the next poll is due, before windows and gates.
func (s *Scheduler) Next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// jittered returns the check interval times a uniform factor in [1-J, 1+J).
func (s *Scheduler) jittered() time.Duration {
	f := 1 + s.cfg.Jitter*(2*s.rand.Float64()-1)
	return time.Duration(float64(s.cfg.CheckInterval) * f)
}

// WaitDue blocks until Decide allows a check or ctx ends. Each deferral is
// other than ReasonNotDue is logged with its reason and passed to
// Config.OnDefer (for the health log).
func (s *Scheduler) WaitDue(ctx context.Context, clk clock.Clock) error {
	for {
		ok, reason, next := s.Decide(ctx, clk.Now())
		if ok {
			return nil
		}
		if reason == ReasonNotDue {
			s.log.Debug("waiting for the next check", "next", next.Format(time.RFC3339))
		} else if s.log.Info("update deferred", "reason", reason, "next", next.Format(time.RFC3339)); s.cfg.OnDefer != nil {
			s.cfg.OnDefer(reason, next)
		}
		t := clk.NewTimer(next.Sub(clk.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		case <-s.wake:
			t.Stop()
		}
	}
}
