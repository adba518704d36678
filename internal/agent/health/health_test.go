package health

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

var v = Versions{New: "2.0", Previous: "1.0"}

// trial runs c.Trial, advancing the fake clock whenever the checker waits;
// onFirstWait, if set, runs when the checker first waits.
func trial(t *testing.T, c *Checker, clk *clock.Fake, onFirstWait func()) Result {
	t.Helper()
	done := make(chan Result)
	go func() { done <- c.Trial(context.Background(), v) }()
	for {
		select {
		case r := <-done:
			return r
		default:
		}
		if clk.Waiters() > 0 {
			if onFirstWait != nil {
				onFirstWait()
				onFirstWait = nil
			}
			clk.Advance(c.cfg.PollInterval)
		}
		runtime.Gosched()
	}
}

func stepNames(r Result) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name)
	}
	return out
}

func TestTrial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         func(dir string) Config
		touchLater  bool
		wantHealthy bool
		wantReason  string
		wantSteps   []string
	}{
		{"no check: restart decides", func(d string) Config {
			return Config{RestartCommand: "true"}
		}, false, true, "restart succeeded", []string{"restart_command"}},
		{"restart fails", func(d string) Config {
			return Config{RestartCommand: "echo no service >&2; exit 5", HealthCommand: "true"}
		}, false, false, "restart failed", []string{"restart_command"}},
		{"post_install fails, no restart", func(d string) Config {
			return Config{PostInstall: "exit 1", RestartCommand: "touch " + d + "/restarted"}
		}, false, false, "post_install failed", []string{"post_install"}},
		{"health passes at once", func(d string) Config {
			return Config{PostInstall: `echo "$FERRY_VERSION $FERRY_PREVIOUS_VERSION $FERRY_TARGET" > ` + d + "/env", RestartCommand: "true", HealthCommand: "true", Target: "/app"}
		}, false, true, "passed on attempt 1", []string{"post_install", "restart_command", "health_command"}},
		{"health passes on third attempt", func(d string) Config {
			return Config{HealthCommand: "echo x >> " + d + "/n; test $(wc -l < " + d + "/n) -ge 3"}
		}, false, true, "passed on attempt 3", []string{"health_command", "health_command"}},
		{"health never passes", func(d string) Config {
			return Config{HealthCommand: "echo not yet; exit 1", Timeout: 10 * time.Second}
		}, false, false, "did not pass within 10s (5 attempts)", []string{"health_command", "health_command"}},
		{"health file touched by the restart", func(d string) Config {
			return Config{RestartCommand: "sleep 0.01; echo up > " + d + "/alive", HealthFile: d + "/alive"}
		}, false, true, "touched after the restart", []string{"restart_command", "health_file"}},
		{"health file touched later", func(d string) Config {
			return Config{RestartCommand: "true", HealthFile: d + "/alive"}
		}, true, true, "touched after the restart", []string{"restart_command", "health_file"}},
		{"stale health file", func(d string) Config {
			os.WriteFile(d+"/alive", []byte("old"), 0o644)
			return Config{RestartCommand: "true", HealthFile: d + "/alive", Timeout: 6 * time.Second}
		}, false, false, "not touched within 6s", []string{"restart_command", "health_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			clk := clock.NewFake(t0)
			cfg := tt.cfg(dir)
			cfg.Clock = clk
			c := New(cfg)
			var touch func()
			if tt.touchLater {
				touch = func() { os.WriteFile(dir+"/alive", []byte("up"), 0o644) }
			}
			r := trial(t, c, clk, touch)
			if r.Healthy != tt.wantHealthy || !strings.Contains(r.Reason, tt.wantReason) {
				t.Errorf("Trial = %v %q; want %v, reason containing %q", r.Healthy, r.Reason, tt.wantHealthy, tt.wantReason)
			}
			if diff := cmp.Diff(tt.wantSteps, stepNames(r)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(dir + "/restarted"); err == nil {
				t.Error("restart ran after post_install failed")
			}
			if b, err := os.ReadFile(dir + "/env"); err == nil && string(b) != "2.0 1.0 /app\n" {
				t.Errorf("hook environment %q", b)
			}
		})
	}
}

func TestHungHealthCommandIsKilled(t *testing.T) {
	t.Parallel()
	c := New(Config{HealthCommand: "sleep 60", Timeout: 300 * time.Millisecond})
	start := time.Now()
	r := c.Trial(context.Background(), v)
	if r.Healthy || !strings.Contains(r.Reason, "timed out") {
		t.Errorf("Trial = %v %q, want a timeout", r.Healthy, r.Reason)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the hung command was not killed at the budget", d)
	}
}

func TestHooks(t *testing.T) {
	t.Parallel()
	c := New(Config{PreInstall: "echo disk full; exit 2", RestartCommand: "echo restarted"})
	s, err := c.PreInstall(context.Background(), v)
	if !errors.Is(err, ErrUnhealthy) || s.Output != "disk full\n" || s.ExitCode != 2 {
		t.Errorf("PreInstall = %+v, %v; want ErrUnhealthy with output and exit code", s, err)
	}
	s, err = c.Restart(context.Background(), v)
	if err != nil || s.Output != "restarted\n" {
		t.Errorf("Restart = %+v, %v", s, err)
	}
	none := New(Config{})
	if s, err := none.PreInstall(context.Background(), v); err != nil || s.Name != "" {
		t.Errorf("PreInstall without a hook = %+v, %v; want a no-op", s, err)
	}
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	if identify(p).exists || identify("").exists {
		t.Error("missing file exists")
	}
	os.WriteFile(p, []byte("a"), 0o644)
	a := identify(p)
	os.WriteFile(p, []byte("ab"), 0o644)
	if b := identify(p); !b.exists || a == b {
		t.Errorf("rewrite not noticed: %+v -> %+v", a, b)
	}
}
