package clock

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFakeTimers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		delay   time.Duration
		advance []time.Duration
		want    []bool // fired after each advance
	}{
		{"fires at deadline", time.Second, []time.Duration{time.Second}, []bool{true}},
		{"not before", time.Second, []time.Duration{999 * time.Millisecond, time.Millisecond}, []bool{false, true}},
		{"zero fires on next advance", 0, []time.Duration{0}, []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := NewFake(epoch)
			c := f.After(tt.delay)
			var got []bool
			for _, d := range tt.advance {
				f.Advance(d)
				select {
				case <-c:
					got = append(got, true)
				default:
					got = append(got, false)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFakeTimerStopReset(t *testing.T) {
	t.Parallel()
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer = false, want true")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if tm.Reset(time.Minute) {
		t.Error("Reset of a stopped timer = true, want false")
	}
	f.Advance(time.Minute)
	if got := <-tm.C(); !got.Equal(epoch.Add(time.Hour + time.Minute)) {
		t.Errorf("fired at %v, want %v", got, epoch.Add(time.Hour+time.Minute))
	}
	if f.Waiters() != 0 {
		t.Errorf("Waiters = %d after firing, want 0", f.Waiters())
	}
}

func TestFakeTickerFiresInOrderAndDrops(t *testing.T) {
	t.Parallel()
	f := NewFake(epoch)
	tk := f.NewTicker(10 * time.Second)
	defer tk.Stop()
	f.Advance(35 * time.Second) // three ticks, channel holds one
	if got := <-tk.C(); !got.Equal(epoch.Add(10 * time.Second)) {
		t.Errorf("first tick %v, want the first deadline (later ones dropped)", got)
	}
	select {
	case <-tk.C():
		t.Fatal("more than one tick buffered")
	default:
	}
	f.Advance(5 * time.Second)
	if got := <-tk.C(); !got.Equal(epoch.Add(40 * time.Second)) {
		t.Errorf("tick %v, want %v", got, epoch.Add(40*time.Second))
	}
	if !f.Now().Equal(epoch.Add(40 * time.Second)) {
		t.Errorf("Now = %v after Advance", f.Now())
	}
}

func TestBlockUntil(t *testing.T) {
	t.Parallel()
	f := NewFake(epoch)
	done := make(chan time.Time)
	go func() { done <- <-f.After(time.Minute) }()
	f.BlockUntil(1)
	f.Advance(time.Minute)
	if got := <-done; !got.Equal(epoch.Add(time.Minute)) {
		t.Errorf("got %v", got)
	}
}

func TestReal(t *testing.T) {
	t.Parallel()
	var c Clock = Real{}
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	<-c.After(time.Millisecond)
	if c.Now().IsZero() {
		t.Error("Real.Now is zero")
	}
}

func TestFakeResetDropsStaleFiring(t *testing.T) {
	t.Parallel()
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	f.Advance(time.Second) // fired, unread
	tm.Reset(time.Minute)
	select {
	case <-tm.C():
		t.Fatal("stale firing received after Reset")
	default:
	}
	f.Advance(time.Second)
	tm.Stop()
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("firing received after Stop")
	default:
	}
}
