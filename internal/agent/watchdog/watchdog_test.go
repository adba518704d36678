package watchdog

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

var t0 = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

func TestDeviceRegularFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetTimeout(1500 * time.Millisecond); !errors.Is(err, ErrTimeout) || !errors.Is(err, unix.ENOTTY) {
		t.Errorf("SetTimeout on a regular file: %v, want ErrTimeout wrapping ENOTTY", err)
	}
	for range 3 {
		if err := d.Feed(); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "...V" {
		t.Errorf("device saw %q, want three feeds and the magic close: \"...V\"", got)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrDevice) {
		t.Errorf("Open of a missing device: %v, want ErrDevice", err)
	}
}

// TestFedDuringLongWork feeds a FIFO "device" from a Keeper while the
// "update" goroutine is stuck in long work holding a lock, and checks the
// device saw a feed every interval all the same.
func TestFedDuringLongWork(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "watchdog")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan byte, 100)
	go func() { // the kernel's side of /dev/watchdog
		r, err := os.Open(fifo)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		defer r.Close()
		b := make([]byte, 1)
		for {
			if _, err := r.Read(b); err != nil {
				close(got)
				return
			}
			got <- b[0]
		}
	}()
	dev, err := Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	k := NewKeeper(KeeperConfig{Clock: clk, Interval: 5 * time.Second}, dev)
	var work sync.Mutex // held for the whole "download and hash"
	work.Lock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { k.Run(ctx); close(done) }()
	go func() { work.Lock(); defer work.Unlock() }() // the loop, blocked behind the work
	if b := <-got; b != '.' {
		t.Fatalf("first feed %q", b)
	}
	for i := range 10 {
		clk.BlockUntil(1)
		clk.Advance(5 * time.Second)
		if b := <-got; b != '.' {
			t.Fatalf("feed %d: got %q", i, b)
		}
	}
	cancel()
	<-done
	work.Unlock()
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	var rest []byte
	for b := range got {
		rest = append(rest, b)
	}
	if diff := cmp.Diff([]byte("V"), rest); diff != "" {
		t.Errorf("after stop (-want +got):\n%s", diff)
	}
}

// feeder records the fake time of each feed.
type feeder struct {
	clk   clock.Clock
	mu    sync.Mutex
	times []time.Duration
	err   error
}

func (f *feeder) Feed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, f.clk.Now().Sub(t0))
	return f.err
}

func (f *feeder) fedAt() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.times...)
}

// waitRounds waits until the keeper has finished n loop iterations.
func waitRounds(k *Keeper, n int64) {
	for k.rounds.Load() < n {
		runtime.Gosched()
	}
}

func TestStallStarvesAndKickResumes(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	f := &feeder{clk: clk}
	failing := &feeder{clk: clk, err: errors.New("socket gone")}
	const iv = time.Second
	k := NewKeeper(KeeperConfig{Clock: clk, Interval: iv, StallLimit: 3 * iv}, f, failing)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go k.Run(ctx)
	waitRounds(k, 1)
	for i := int64(2); i <= 6; i++ { // ticks at 1s..5s: idle 4s and 5s starve
		clk.BlockUntil(1)
		clk.Advance(iv)
		waitRounds(k, i)
	}
	k.Kick()
	clk.Advance(iv)
	waitRounds(k, 7)
	want := []time.Duration{0, iv, 2 * iv, 3 * iv, 6 * iv}
	if diff := cmp.Diff(want, f.fedAt()); diff != "" {
		t.Errorf("feed times (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, failing.fedAt()); diff != "" {
		t.Errorf("a failing feeder must not stop the others (-want +got):\n%s", diff)
	}
	if k.Feeds() != 5 {
		t.Errorf("Feeds = %d, want 5", k.Feeds())
	}
}

func TestInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{0, 5 * time.Second}, 5 * time.Second},
		{[]time.Duration{15 * time.Second, 5 * time.Second, 0}, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := Interval(tt.in...); got != tt.want {
			t.Errorf("Interval(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

var _ io.Closer = (*Device)(nil)
