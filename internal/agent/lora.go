package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/schedule"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/lora"
	"github.com/ferry-ota/ferry/internal/modem"
)

// startLoRa listens to the first lora link's module, if any: a downlink
// announcing a newer sequence makes the next check due now. It returns the
// function that stops it. A module that cannot be opened is logged and
// the daemon runs on without it.
func (a *Agent) startLoRa(ctx context.Context, sched *schedule.Scheduler) (stop func()) {
	var t *config.Transport
	for i := range a.cfg.Transports {
		if a.cfg.Transports[i].Kind == config.KindLoRa {
			t = &a.cfg.Transports[i]
			break
		}
	}
	if t == nil {
		return func() {}
	}
	conn, err := modem.Open(t.ModemPort, t.ModemBaud)
	if err != nil {
		a.log.Warn("lora module unavailable: updates wait for the schedule", "link", t.Name, "err", err)
		a.note(healthlog.Entry{Kind: healthlog.KindError, Message: fmt.Sprintf("lora link %s: %v", t.Name, err)})
		return func() {}
	}
	l := &lora.Listener{Lines: conn, Now: a.clock.Now, Log: a.log.With("link", t.Name),
		Installed: func() uint64 {
			if rec, err := a.in.Installed(); err == nil && rec != nil {
				return rec.Sequence
			}
			return 0
		},
		Trigger: func(uint64) { sched.CheckSoon(a.clock.Now()) }}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := l.Run(ctx); err != nil {
			a.log.Warn("lora module stopped: updates wait for the schedule", "link", t.Name, "err", err)
		}
	})
	return func() {
		cancel()
		conn.Close()
		wg.Wait()
	}
}
