package led

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)

// fakeLED makes a /sys/class/leds/<name> look-alike and returns its folder.
func fakeLED(t *testing.T, max string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "leds", "status")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "brightness"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if max != "" {
		if err := os.WriteFile(filepath.Join(dir, "max_brightness"), []byte(max), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type event struct {
	At time.Duration
	On bool
}

// recorded returns an LED on a fake clock whose writes go to a channel.
func recorded(t *testing.T) (*LED, *clock.Fake, chan event) {
	t.Helper()
	clk := clock.NewFake(t0)
	l, err := New(fakeLED(t, ""), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan event, 1000)
	l.write = func(on bool) error { ch <- event{clk.Now().Sub(t0), on}; return nil }
	return l, clk, ch
}

func drain(ch chan event) []event {
	var out []event
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestPatternsPlayed(t *testing.T) {
	t.Parallel()
	for s := Idle; s <= Success; s++ {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			l, clk, ch := recorded(t)
			l.Set(s)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { l.Run(ctx); close(done) }()
			var want []event
			var at time.Duration
			steps := Patterns[s]
			for i := range 2*len(steps) + 1 { // two cycles and the start of a third
				st := steps[i%len(steps)]
				if len(want) == 0 || want[len(want)-1].On != st.On {
					want = append(want, event{at, st.On})
				}
				if st.D == 0 || i == 2*len(steps) {
					break
				}
				clk.BlockUntil(1)
				clk.Advance(st.D)
				at += st.D
			}
			clk.BlockUntil(boolInt(steps[0].D > 0 || len(steps) > 1))
			cancel()
			<-done
			if want[len(want)-1].On {
				want = append(want, event{at, false})
			}
			if diff := cmp.Diff(want, drain(ch)); diff != "" {
				t.Errorf("LED writes (-want +got):\n%s", diff)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPatternsDistinct(t *testing.T) {
	t.Parallel()
	for a := Idle; a <= Success; a++ {
		for b := a + 1; b <= Success; b++ {
			if cmp.Equal(Patterns[a], Patterns[b]) {
				t.Errorf("%v and %v share a pattern", a, b)
			}
		}
	}
}

func TestSetNeverBlocksAndLatestWins(t *testing.T) {
	t.Parallel()
	l, clk, ch := recorded(t)
	for i := range 10_000 { // no Run yet: nobody reads
		l.Set(State(i % 6))
	}
	l.Set(Installing)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	// Run starts with Installing (steady on) and then sees the pending poke.
	if e := <-ch; e != (event{0, true}) {
		t.Errorf("first write %+v, want on at 0", e)
	}
	l.Set(Downloading)
	clk.BlockUntil(1)
	clk.Advance(100 * time.Millisecond)
	if e := <-ch; e != (event{100 * time.Millisecond, false}) {
		t.Errorf("after switching to downloading: %+v, want off at 100ms", e)
	}
	var nilLED *LED
	nilLED.Set(Error) // no LED configured: a no-op
	if nilLED.State() != Idle {
		t.Error("nil LED state")
	}
}

func TestSysfsFile(t *testing.T) {
	t.Parallel()
	tests := []struct{ max, wantOn string }{{"255\n", "255"}, {"", "1"}, {"junk", "1"}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("max=%q", tt.max), func(t *testing.T) {
			t.Parallel()
			dir := fakeLED(t, tt.max)
			l, err := New(dir, clock.NewFake(t0), nil)
			if err != nil {
				t.Fatal(err)
			}
			l.Set(Installing)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { l.Run(ctx); close(done) }()
			b := filepath.Join(dir, "brightness")
			for read(b) != tt.wantOn {
				runtime.Gosched()
			}
			cancel()
			<-done
			if got := read(b); got != "0" {
				t.Errorf("after stop brightness = %q, want off", got)
			}
		})
	}
	if _, err := New(filepath.Join(t.TempDir(), "nope"), nil, nil); !errors.Is(err, ErrLED) {
		t.Errorf("New of a missing LED: %v, want ErrLED", err)
	}
}

func read(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
