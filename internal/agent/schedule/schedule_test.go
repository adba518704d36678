package schedule

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// device is a fake device: a state folder, a boot id file and a watchdog
// bootstatus file, all in t.TempDir.
type device struct {
	state, bootID, bootstatus string
}

func newDevice(t *testing.T) *device {
	t.Helper()
	root := t.TempDir()
	d := &device{
		state:      filepath.Join(root, "state"),
		bootID:     filepath.Join(root, "boot_id"),
		bootstatus: filepath.Join(root, "watchdog0", "bootstatus"),
	}
	must(t, os.MkdirAll(d.state, 0o700))
	must(t, os.MkdirAll(filepath.Dir(d.bootstatus), 0o755))
	d.boot(t, "boot-1", "0")
	return d
}

// boot simulates a reboot with the given watchdog bootstatus.
func (d *device) boot(t *testing.T, id, status string) {
	t.Helper()
	must(t, os.WriteFile(d.bootID, []byte(id+"\n"), 0o644))
	must(t, os.WriteFile(d.bootstatus, []byte(status+"\n"), 0o644))
}

func (d *device) config(mod func(*Config)) Config {
	c := Config{
		StateDir:           d.state,
		CheckInterval:      time.Hour,
		WatchdogStatusGlob: filepath.Join(filepath.Dir(filepath.Dir(d.bootstatus)), "*", "bootstatus"),
		BootIDPath:         d.bootID,
		Rand:               rand.New(rand.NewPCG(1, 2)),
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func (d *device) start(t *testing.T, now time.Time, mod func(*Config)) *Scheduler {
	t.Helper()
	s, err := Start(d.config(mod), now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func hours(a, b int) *Window { return &Window{Start: a, End: b, Loc: time.UTC} }

type fixedBattery struct {
	p   int
	err error
}

func (f fixedBattery) Percent(context.Context) (int, error) { return f.p, f.err }

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mod        func(*Config)
		now        time.Time
		wantOK     bool
		wantReason string // substring
		wantNext   time.Time
	}{
		{"fresh device checks at once", nil, t0, true, "due", t0},
		{"inside window", func(c *Config) { c.Window = hours(11, 13) }, t0, true, "due", t0},
		{"outside window", func(c *Config) { c.Window = hours(22, 4) }, t0, false, "outside the update window 22:00-04:00", at(22, 0)},
		{"solar window replaces update window", func(c *Config) {
			c.Window, c.Solar, c.SolarWindow = hours(11, 13), true, hours(14, 16)
		}, t0, false, "outside the solar window 14:00-16:00", at(14, 0)},
		{"battery low", func(c *Config) {
			c.MinBatteryPercent, c.Battery = 50, fixedBattery{p: 20}
		}, t0, false, "battery at 20%, below min_battery_percent 50", t0.Add(15 * time.Minute)},
		{"battery ok", func(c *Config) {
			c.MinBatteryPercent, c.Battery = 50, fixedBattery{p: 50}
		}, t0, true, "due", t0},
		{"battery unreadable fails closed", func(c *Config) {
			c.MinBatteryPercent, c.Battery = 50, SysfsBattery{"/nonexistent/power_supply"}
		}, t0, false, "battery: schedule: battery unreadable", t0.Add(15 * time.Minute)},
		{"battery retry lands in window", func(c *Config) {
			c.MinBatteryPercent, c.Battery, c.Window = 50, fixedBattery{p: 1}, hours(12, 12)
			c.BatteryRetry = 2 * time.Hour
		}, t0, false, "battery at 1%", t0.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newDevice(t).start(t, tt.now, tt.mod)
			ok, reason, next := s.Decide(context.Background(), tt.now)
			if ok != tt.wantOK || !strings.Contains(reason, tt.wantReason) || !next.Equal(tt.wantNext) {
				t.Errorf("Decide = %v, %q, %v; want %v, %q, %v", ok, reason, next, tt.wantOK, tt.wantReason, tt.wantNext)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	s := newDevice(t).start(t, t0, nil)
	const n = 2000
	var lo, hi, sum time.Duration = time.Hour * 2, 0, 0
	must(t, s.Checked(t0))
	if d := s.Next().Sub(t0); d < 54*time.Minute || d > 66*time.Minute {
		t.Errorf("Next after Checked is %v later, want 1h ±10%%", d)
	}
	for range n {
		d := s.jittered() // what Checked adds, without n fsyncs
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
	}
	if lo < 54*time.Minute || hi > 66*time.Minute {
		t.Errorf("jittered intervals in [%v, %v], want within ±10%% of 1h", lo, hi)
	}
	if lo > 55*time.Minute || hi < 65*time.Minute {
		t.Errorf("jittered intervals in [%v, %v]: spread too narrow, fleets would poll in lockstep", lo, hi)
	}
	if mean := sum / n; mean < 59*time.Minute || mean > 61*time.Minute {
		t.Errorf("mean interval %v, want about 1h", mean)
	}
}

func TestPollAndMinIntervalAcrossRestarts(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	mod := func(c *Config) { c.CheckInterval, c.MinUpdateInterval, c.Jitter = 10*time.Minute, time.Hour, 0.0001 }
	s := d.start(t, t0, mod)
	if ok, _, _ := s.Decide(context.Background(), t0); !ok {
		t.Fatal("first check not allowed")
	}
	must(t, s.Checked(t0))
	must(t, s.MarkClean())

	// Restart a minute later: the persisted last check holds the poll back.
	s2 := d.start(t, t0.Add(time.Minute), mod)
	ok, reason, next := s2.Decide(context.Background(), t0.Add(time.Minute))
	if ok || !strings.Contains(reason, "min_update_interval_sec") || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("after restart: Decide = %v, %q, %v; want deferred by min interval to %v", ok, reason, next, t0.Add(time.Hour))
	}
	if ok, _, _ := s2.Decide(context.Background(), t0.Add(time.Hour)); !ok {
		t.Error("not allowed once the min interval passed")
	}
}

func TestCrashBackoff(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	mod := func(c *Config) { c.MaxCrashesBeforeDelay, c.CrashDelay = 2, 3*time.Hour }
	now := t0
	var s *Scheduler
	for range 3 { // first start, then two unclean restarts (marker left behind)
		s = d.start(t, now, mod)
		now = now.Add(time.Minute)
	}
	if n, cause := s.Crashes(); n != 2 || !strings.Contains(cause, "unclean exit") {
		t.Fatalf("Crashes = %d, %q; want 2 unclean exits", n, cause)
	}
	if n, cause, err := ReadCrashes(d.state); n != 2 || !strings.Contains(cause, "unclean exit") || err != nil {
		t.Errorf("ReadCrashes = %d, %q, %v; want what the scheduler counted", n, cause, err)
	}
	crashAt := t0.Add(2 * time.Minute)
	ok, reason, next := s.Decide(context.Background(), now)
	if ok || !strings.Contains(reason, "crash backoff: 2 crashes") || !next.Equal(crashAt.Add(3*time.Hour)) {
		t.Errorf("Decide = %v, %q, %v; want crash backoff until %v", ok, reason, next, crashAt.Add(3*time.Hour))
	}
	if ok, _, _ := s.Decide(context.Background(), crashAt.Add(3*time.Hour)); !ok {
		t.Error("still deferred after crash_delay")
	}
	must(t, s.MarkClean())
	s = d.start(t, now, mod)
	if n, _ := s.Crashes(); n != 0 {
		t.Errorf("after a clean exit Crashes = %d, want 0", n)
	}
}

func TestWatchdogResetCountedOncePerBoot(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	clean := func(s *Scheduler) { must(t, s.MarkClean()) }
	clean(d.start(t, t0, nil)) // boot-1, bootstatus 0
	d.boot(t, "boot-2", "32")  // WDIOF_CARDRESET
	s := d.start(t, t0, nil)
	n, cause := s.Crashes()
	if n != 1 || !strings.Contains(cause, "watchdog reset") {
		t.Fatalf("Crashes = %d, %q; want 1 watchdog reset", n, cause)
	}
	// The agent restarts within the same boot (clean exit resets the count
	// first, so test without it): the same boot's status is not counted again.
	s = d.start(t, t0, nil) // unclean: +1 for the marker only
	if n, _ := s.Crashes(); n != 2 {
		t.Errorf("Crashes = %d, want 2 (one reset, one unclean exit, reset not recounted)", n)
	}
}

func TestStateWrittenOnlyWhenChanged(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	s := d.start(t, t0, nil)
	must(t, s.Checked(t0))
	p := filepath.Join(d.state, StateFile)
	before, err := os.Stat(p)
	must(t, err)
	for i := range 10 {
		s.Decide(context.Background(), t0.Add(time.Duration(i)*time.Minute))
	}
	must(t, s.MarkClean()) // no crashes to reset: same content
	after, err := os.Stat(p)
	must(t, err)
	if !os.SameFile(before, after) {
		t.Error("state file rewritten although nothing changed")
	}
	entries, _ := os.ReadDir(d.state)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{StateFile}, names); diff != "" {
		t.Errorf("state folder after clean exit (-want +got):\n%s", diff)
	}
}

func TestWaitDueWithFakeClock(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	clk := clock.NewFake(t0)
	var deferrals []string
	s := d.start(t, t0, func(c *Config) {
		c.Window = hours(14, 15)
		c.OnDefer = func(reason string, _ time.Time) { deferrals = append(deferrals, reason) }
	})
	done := make(chan error)
	go func() { done <- s.WaitDue(context.Background(), clk) }()
	clk.BlockUntil(1)
	clk.Advance(2 * time.Hour)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !clk.Now().Equal(at(14, 0)) {
		t.Errorf("woke at %v, want the window opening 14:00", clk.Now())
	}
	if diff := cmp.Diff([]string{"outside the update window 14:00-15:00 (local time)"}, deferrals); diff != "" {
		t.Errorf("deferrals (-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	must(t, s.Checked(clk.Now()))
	go func() { done <- s.WaitDue(ctx, clk) }()
	clk.BlockUntil(1)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("WaitDue after cancel = %v, want context.Canceled", err)
	}
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	h := func(n int) *int { return &n }
	tests := []struct {
		name    string
		d       config.Daemon
		wantErr bool
		check   func(Config) bool
	}{
		{"defaults", config.Daemon{CheckIntervalSec: 60}, false, func(c Config) bool {
			return c.Window == nil && !c.Solar && c.Battery == SysfsBattery{"/sys/class/power_supply"}
		}},
		{"solar default window", config.Daemon{CheckIntervalSec: 60, PowerSource: "solar"}, false, func(c Config) bool {
			return c.Solar && c.SolarWindow.Start == DefaultSolarStart && c.SolarWindow.End == DefaultSolarEnd
		}},
		{"command battery", config.Daemon{CheckIntervalSec: 60, BatteryCommand: "x", BatteryPath: "/p"}, false, func(c Config) bool {
			return c.Battery == CommandBattery{Command: "x"}
		}},
		{"window", config.Daemon{CheckIntervalSec: 60, UpdateWindowStartHour: h(2), UpdateWindowEndHour: h(5)}, false, func(c Config) bool {
			return c.Window.Start == 2 && c.Window.End == 5
		}},
		{"bad power source", config.Daemon{PowerSource: "wind"}, true, nil},
		{"half window", config.Daemon{UpdateWindowStartHour: h(2)}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := FromConfig(&config.Config{State: "/s", Daemon: tt.d}, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("FromConfig = %+v", c)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	for _, mod := range []func(*Config){
		func(c *Config) { c.CheckInterval = 0 },
		func(c *Config) { c.StateDir = "" },
		func(c *Config) { c.MinBatteryPercent = 10; c.Battery = nil },
		func(c *Config) { c.StateDir = filepath.Join(d.state, "missing") },
	} {
		if _, err := Start(d.config(mod), t0); err == nil {
			t.Errorf("Start(%+v) succeeded, want an error", d.config(mod))
		}
	}
}

func TestOverdueStartIsSpread(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	s := d.start(t, t0, nil)
	must(t, s.Checked(t0))
	must(t, s.MarkClean())
	late := t0.Add(48 * time.Hour) // power back after two days
	seen := map[time.Time]bool{}
	for i := range 20 {
		s := d.start(t, late, func(c *Config) { c.Rand = rand.New(rand.NewPCG(uint64(i), 9)) })
		must(t, s.MarkClean())
		if n := s.Next(); n.Before(late) || n.After(late.Add(6*time.Minute)) {
			t.Fatalf("overdue device next check %v after power-on, want within the jitter span (6m)", n.Sub(late))
		}
		seen[s.Next()] = true
	}
	if len(seen) < 15 {
		t.Errorf("only %d distinct first-check times for 20 devices: the fleet polls in lockstep", len(seen))
	}
}

// TestCheckSoon: a trigger wakes WaitDue at once, but min_update_interval_sec
// still holds.
func TestCheckSoon(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	clk := clock.NewFake(t0)
	s := d.start(t, t0, func(c *Config) { c.MinUpdateInterval = 10 * time.Minute })
	must(t, s.Checked(t0))
	done := make(chan error)
	go func() { done <- s.WaitDue(context.Background(), clk) }()
	clk.BlockUntil(1)
	s.CheckSoon(clk.Now())
	clk.BlockUntil(1) // woken, then waiting again: the minimum interval
	select {
	case err := <-done:
		t.Fatalf("WaitDue returned %v inside min_update_interval_sec", err)
	default:
	}
	clk.Advance(10 * time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(t0); got != 10*time.Minute {
		t.Fatalf("checked %s after the last check, want 10m (not the hour-long poll interval)", got)
	}
}
