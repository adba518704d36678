package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manual clock for tests. The zero value is not usable; use NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
	changed chan struct{} // closed and replaced when the set of waiters changes
}

var _ Clock = (*Fake)(nil)

// waiter is a pending fake timer or ticker.
type waiter struct {
	f      *Fake
	when   time.Time
	period time.Duration // 0 for a timer
	c      chan time.Time
}

// NewFake returns a fake clock set to now.
func NewFake(now time.Time) *Fake {
	return &Fake{now: now, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After returns a channel that receives the fake time once d has passed.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer returns a fake timer that fires when the clock reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	w := &waiter{f: f, c: make(chan time.Time, 1)}
	w.arm(d, 0)
	return (*fakeTimer)(w)
}

// NewTicker returns a fake ticker that fires every d of fake time.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	w := &waiter{f: f, c: make(chan time.Time, 1)}
	w.arm(d, d)
	return (*fakeTicker)(w)
}

// Advance moves the clock forward by d, firing every timer and ticker whose
// deadline falls within, in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	end := f.now.Add(d)
	f.mu.Unlock()
	f.Set(end)
}

// Set moves the clock to t (never backwards for pending timers: a timer
// fires when the clock reaches or passes its deadline).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		w := f.next(t)
		if w == nil {
			break
		}
		f.now = w.when
		select {
		case w.c <- w.when:
		default: // a slow reader misses the tick, as with time.Ticker
		}
		if w.period > 0 {
			w.when = w.when.Add(w.period)
		} else {
			f.remove(w)
		}
	}
	f.now = t
}

// next returns the earliest waiter due at or before t, or nil.
func (f *Fake) next(t time.Time) *waiter {
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].when.Before(f.waiters[j].when) })
	if len(f.waiters) == 0 || f.waiters[0].when.After(t) {
		return nil
	}
	return f.waiters[0]
}

// Waiters returns the number of pending timers and tickers.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil waits until at least n timers or tickers are pending, so that a
// test can Advance only once the goroutine under test is waiting.
func (f *Fake) BlockUntil(n int) {
	for {
		f.mu.Lock()
		got, ch := len(f.waiters), f.changed
		f.mu.Unlock()
		if got >= n {
			return
		}
		<-ch
	}
}

func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Fake) remove(w *waiter) bool {
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			f.notify()
			return true
		}
	}
	return false
}

// arm (re)schedules w to fire after d, every period if period > 0.
func (w *waiter) arm(d, period time.Duration) bool {
	f := w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	was := f.remove(w)
	w.drain()
	w.when, w.period = f.now.Add(d), period
	f.waiters = append(f.waiters, w)
	f.notify()
	return was
}

func (w *waiter) stop() bool {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.drain()
	return w.f.remove(w)
}

// drain drops an unread firing, as Stop and Reset do for time.Timer since
// Go 1.23: no stale value is received after them.
func (w *waiter) drain() {
	select {
	case <-w.c:
	default:
	}
}

type fakeTimer waiter

func (t *fakeTimer) C() <-chan time.Time        { return t.c }
func (t *fakeTimer) Stop() bool                 { return (*waiter)(t).stop() }
func (t *fakeTimer) Reset(d time.Duration) bool { return (*waiter)(t).arm(d, 0) }

type fakeTicker waiter

func (t *fakeTicker) C() <-chan time.Time { return t.c }
func (t *fakeTicker) Stop()               { (*waiter)(t).stop() }
func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	(*waiter)(t).arm(d, d)
}
