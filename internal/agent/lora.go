package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/lora"
	"github.com/ferry-ota/ferry/internal/modem"
	"github.com/ferry-ota/ferry/internal/update"
)

// LoRaFile keeps, for the LoRa status uplink, the last result of a cycle
// over a data link and when the last uplink went, across restarts.
const LoRaFile = "lora.json"

// loraRecord is lora.json.
type loraRecord struct {
	Result   byte      `json:"result"` // lora.Result…
	UplinkAt time.Time `json:"uplink_at,omitzero"`
}

// detectTimeout bounds the question of a module's family at start.
const detectTimeout = time.Second

// loraLink returns the first lora link of the config, or nil.
func (a *Agent) loraLink() *config.Transport {
	for i := range a.cfg.Transports {
		if a.cfg.Transports[i].Kind == config.KindLoRa {
			return &a.cfg.Transports[i]
		}
	}
	return nil
}

// startLoRa listens to the first lora link's module, if any: a downlink
// announcing a newer sequence calls trigger (the next check is due now).
// It sets up the status uplink (a.uplink) for the module's family, from
// lora_module or asked of the module. It returns the function that stops
// both. A module that cannot be opened is logged and the daemon runs on
// without it.
func (a *Agent) startLoRa(ctx context.Context, trigger func()) (stop func()) {
	t := a.loraLink()
	if t == nil {
		return func() {}
	}
	conn, err := modem.Open(t.ModemPort, t.ModemBaud)
	if err != nil {
		a.log.Warn("lora module unavailable: updates wait for the schedule", "link", t.Name, "err", err)
		a.note(healthlog.Entry{Kind: healthlog.KindError, Message: fmt.Sprintf("lora link %s: %v", t.Name, err)})
		return func() {}
	}
	a.uplink = a.newUplink(ctx, t, conn)
	l := &lora.Listener{Lines: conn, Now: a.clock.Now, Log: a.log.With("link", t.Name),
		Installed: func() uint64 { return a.installedSequence() },
		Trigger:   func(uint64) { trigger() }}
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
		a.uplink = nil
	}
}

// newUplink returns the status uplink of t's module, or nil when its
// family is neither configured nor recognised.
func (a *Agent) newUplink(ctx context.Context, t *config.Transport, conn *modem.Conn) *lora.Uplink {
	module := t.LoRaModule
	if module == "" {
		if module = lora.Detect(ctx, conn, detectTimeout); module == "" {
			a.log.Warn("lora module of unknown family: no status uplink; set lora_module to \"rui3\", \"e5\" or \"reyax\"",
				"link", t.Name, "asked", lora.DetectCommand)
			return nil
		}
		a.log.Info("lora module family detected", "link", t.Name, "lora_module", module)
	}
	rec, err := a.loraRecord()
	if err != nil {
		a.log.Warn("lora record", "err", err)
	}
	return &lora.Uplink{Port: conn, Module: module, Now: a.clock.Now, Last: rec.UplinkAt}
}

func (a *Agent) loraRecord() (loraRecord, error) {
	var rec loraRecord
	err := readJSON(filepath.Join(a.cfg.State, LoRaFile), &rec)
	return rec, err
}

// loraResult keeps the result code of a cycle that ran over a data link,
// for the next status uplink (with a lora link only; written when it
// changes).
func (a *Agent) loraResult(res *update.Result, err error) {
	if a.loraLink() == nil || errors.Is(err, context.Canceled) {
		return
	}
	rec, rerr := a.loraRecord()
	if rerr != nil {
		a.log.Warn("lora record", "err", rerr)
	}
	rec.Result = resultCode(res, err)
	if err := writeJSON(filepath.Join(a.cfg.State, LoRaFile), rec); err != nil {
		a.log.Warn("lora record", "err", err)
	}
}

// resultCode is the status uplink's code of a cycle's outcome.
func resultCode(res *update.Result, err error) byte {
	switch {
	case errors.Is(err, ErrUnhealthy):
		return lora.ResultRolledBack
	case err != nil || res == nil:
		return lora.ResultError
	case res.Deferred != "":
		return lora.ResultDeferred
	case res.UpToDate:
		return lora.ResultUpToDate
	}
	return lora.ResultUpdated
}

// sendLoRaStatus sends the status uplink (the installed sequence and the
// last result) when the daemon has a LoRa module, at most once an hour. It
// is called only when no data link is up; a failure is logged, never a
// cycle's.
func (a *Agent) sendLoRaStatus() {
	u := a.uplink
	if u == nil {
		return
	}
	rec, err := a.loraRecord()
	if err != nil {
		a.log.Warn("lora record", "err", err)
	}
	seq := a.installedSequence()
	sent, err := u.Status(rec.Result, seq)
	if err != nil {
		a.log.Warn("lora status uplink not sent", "err", err)
		return
	}
	if !sent {
		return
	}
	a.log.Info("lora status uplink sent: no data link is up", "module", u.Module, "result", rec.Result, "sequence", seq)
	rec.UplinkAt = u.Last
	if err := writeJSON(filepath.Join(a.cfg.State, LoRaFile), rec); err != nil {
		a.log.Warn("lora record", "err", err)
	}
}

func (a *Agent) installedSequence() uint64 {
	if rec, err := a.in.Installed(); err == nil && rec != nil {
		return rec.Sequence
	}
	return 0
}
