package led

import (
	"context"
	"time"
)

// Run drives the LED until ctx ends, then turns it off.
func (l *LED) Run(ctx context.Context) {
	t := l.clock.NewTimer(time.Hour)
	t.Stop()
	d := driver{l: l}
	state, i := l.State(), 0
	for {
		steps := Patterns[state]
		if len(steps) == 0 {
			steps = Patterns[Idle]
		}
		st := steps[i%len(steps)]
		d.apply(st.On)
		var tick <-chan time.Time
		if st.D > 0 {
			t.Reset(st.D)
			tick = t.C()
		}
		select {
		case <-ctx.Done():
			t.Stop()
			d.apply(false)
			return
		case <-l.changed:
			t.Stop()
			state, i = l.State(), 0
		case <-tick:
			i++
		}
	}
}

// driver writes only changes and logs a failing LED once, not per blink.
type driver struct {
	l       *LED
	known   bool
	on      bool
	failing bool
}

func (d *driver) apply(on bool) {
	if d.known && d.on == on {
		return
	}
	err := d.l.write(on)
	switch {
	case err != nil && !d.failing:
		d.l.log.Warn("status led write failed", "file", d.l.brightness, "err", err)
	case err == nil && d.failing:
		d.l.log.Info("status led works again", "file", d.l.brightness)
	}
	d.failing = err != nil
	d.known, d.on = err == nil, on
}
