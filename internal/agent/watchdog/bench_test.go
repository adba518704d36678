package watchdog

import (
	"context"
	"crypto/sha256"
	"runtime"
	"sync"
	"testing"
	"time"
)

// gapFeeder records the longest time between two feeds.
type gapFeeder struct {
	mu      sync.Mutex
	last    time.Time
	maxGap  time.Duration
	samples int
}

func (g *gapFeeder) Feed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if !g.last.IsZero() {
		g.maxGap = max(g.maxGap, now.Sub(g.last))
		g.samples++
	}
	g.last = now
	return nil
}

// BenchmarkFeedDuringHashing hashes 64 MiB per op on every CPU, streamed in
// 64 KiB writes as the installer does, while a Keeper feeds every 10 ms on
// the real clock, and reports the longest gap between feeds: it stays near
// the interval because the feeding goroutine does not wait for the work.
// (One SHA-256 call over a whole buffer is assembly the scheduler cannot
// preempt; streaming in small chunks keeps the gaps short.)
func BenchmarkFeedDuringHashing(b *testing.B) {
	b.Run("idle", func(b *testing.B) { feedGaps(b, 0) })
	b.Run("hashing", func(b *testing.B) { feedGaps(b, runtime.GOMAXPROCS(0)) })
}

// feedGaps runs the Keeper while workers goroutines hash (none: idle, a
// sleep per op as the baseline of the machine's own scheduling noise).
func feedGaps(b *testing.B, workers int) {
	g := &gapFeeder{}
	k := NewKeeper(KeeperConfig{Interval: 10 * time.Millisecond}, g)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { k.Run(ctx); close(done) }()
	buf := make([]byte, 64<<20)
	b.SetBytes(int64(len(buf)) * int64(workers))
	b.ResetTimer()
	for b.Loop() {
		if workers == 0 {
			time.Sleep(50 * time.Millisecond)
		}
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				h := sha256.New()
				for off := 0; off < len(buf); off += 64 << 10 {
					h.Write(buf[off : off+64<<10])
				}
				h.Sum(nil)
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	cancel()
	<-done
	g.mu.Lock()
	defer g.mu.Unlock()
	b.ReportMetric(float64(g.maxGap.Microseconds())/1000, "max-gap-ms")
	b.ReportMetric(float64(g.samples), "feeds")
}
