package watchdog

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
)

// Keeper feeds Feeders from its own goroutine. Create it with NewKeeper,
// start Run in a goroutine, and have long work call Kick.
type Keeper struct {
	clock    clock.Clock
	interval time.Duration
	stall    time.Duration
	feeders  []Feeder
	log      *slog.Logger
	progress atomic.Int64 // clock time of the last Kick, UnixNano
	feeds    atomic.Int64 // completed feed rounds, for tests and status
	rounds   atomic.Int64 // loop iterations, fed or starved (tests)
}

// KeeperConfig configures a Keeper.
type KeeperConfig struct {
	Clock      clock.Clock   // default clock.Real
	Interval   time.Duration // feed period; must be positive
	StallLimit time.Duration // stop feeding after this long without a Kick; 0 never stops
	Logger     *slog.Logger
}

// NewKeeper returns a Keeper for feeders. It counts as kicked at creation.
func NewKeeper(cfg KeeperConfig, feeders ...Feeder) *Keeper {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	k := &Keeper{clock: cfg.Clock, interval: cfg.Interval, stall: cfg.StallLimit, feeders: feeders, log: cfg.Logger}
	k.Kick()
	return k
}

// Kick records that work is making progress. It never blocks.
func (k *Keeper) Kick() { k.progress.Store(k.clock.Now().UnixNano()) }

// Feeds returns the number of feed rounds done so far.
func (k *Keeper) Feeds() int64 { return k.feeds.Load() }

// Run feeds every Feeder at once and then every interval, until ctx ends.
// It stops feeding while work has not kicked for the stall limit.
func (k *Keeper) Run(ctx context.Context) {
	t := k.clock.NewTicker(k.interval)
	defer t.Stop()
	failing := make([]bool, len(k.feeders))
	stalled := false
	for {
		now := k.clock.Now()
		idle := now.Sub(time.Unix(0, k.progress.Load()))
		switch {
		case k.stall > 0 && idle > k.stall:
			if !stalled {
				k.log.Error("no progress: starving the watchdog so it restarts the agent", "idle", idle, "stall_limit", k.stall)
			}
			stalled = true
		default:
			if stalled {
				k.log.Info("progress again: feeding the watchdog")
			}
			stalled = false
			k.feedAll(failing)
		}
		k.rounds.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// feedAll feeds each feeder, logging only changes between failing and ok.
func (k *Keeper) feedAll(failing []bool) {
	for i, f := range k.feeders {
		err := f.Feed()
		switch {
		case err != nil && !failing[i]:
			k.log.Warn("watchdog feed failed", "err", err)
		case err == nil && failing[i]:
			k.log.Info("watchdog feed works again")
		}
		failing[i] = err != nil
	}
	k.feeds.Add(1)
}

// Interval returns the feed period for watchdogs needing a feed at least
// every one of periods: the smallest positive one (0 when none is).
func Interval(periods ...time.Duration) time.Duration {
	var best time.Duration
	for _, p := range periods {
		if p > 0 && (best == 0 || p < best) {
			best = p
		}
	}
	return best
}
