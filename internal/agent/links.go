package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/led"
	"github.com/ferry-ota/ferry/internal/link"
	"github.com/ferry-ota/ferry/internal/update"
)

// LinksFile is where the agent records the state of its links at each
// check, for `ferry-agent status`.
const LinksFile = "links.json"

// linkRecord is links.json.
type linkRecord struct {
	At    time.Time    `json:"at"` // when the state last changed`
	Used  string       `json:"used,omitempty"`
	Links []link.State `json:"links"`
}

// newLinks returns the link manager of the config, or nil without
// [[transport]] links.
func (a *Agent) newLinks(prober link.Prober) *link.Manager {
	cfg := a.cfg
	if len(cfg.Transports) == 0 {
		return nil
	}
	if prober == nil {
		prober = link.Interfaces{}
	}
	m := &link.Manager{Links: cfg.Transports, Policy: link.PolicyFromConfig(cfg), Prober: prober,
		Ledger: link.NewLedger(cfg.State), Now: a.clock.Now, Modem: link.ModemSignal}
	if b := a.dev.Binder; b != nil {
		m.Bind = b.Set
	}
	return m
}

// beginLinks chooses the cycle's link and sets opt's Budget. It returns a
// result when no link is up: the cycle is deferred without a request.
func (a *Agent) beginLinks(ctx context.Context, opt *update.Options) (*link.Cycle, *update.Result) {
	if a.links == nil {
		return nil, nil
	}
	c := a.links.Begin(ctx)
	a.recordLinks(c)
	if c.Link == nil {
		return c, &update.Result{Deferred: c.Down()}
	}
	a.log.Info("link chosen", "link", c.Link.Name, "interface", c.Link.Interface, "cost_per_mb", c.Link.CostPerMB, "signal", signalOf(c))
	opt.Budget = c
	return c, nil
}

// endLinks charges what the cycle downloaded to the month's budget.
func (a *Agent) endLinks(c *link.Cycle, res *update.Result) {
	if c == nil || res == nil {
		return
	}
	if err := c.Charge(res.Downloaded); err != nil {
		a.log.Error("budget ledger", "err", err)
		a.note(healthlog.Entry{Kind: healthlog.KindError, Message: err.Error()})
	}
}

// deferNoLink ends a cycle that found no link up.
func (a *Agent) deferNoLink(res *update.Result) *update.Result {
	a.log.Info("checked", "result", res.String())
	a.note(healthlog.Entry{Kind: healthlog.KindDeferral, Message: res.Deferred})
	a.phase(led.Idle, res.String())
	return res
}

func signalOf(c *link.Cycle) string {
	for _, s := range c.States {
		if s.Name == c.Name() {
			return s.Signal
		}
	}
	return ""
}

// recordLinks writes links.json when the links' state changed since the
// last check (not at every check: flash wear); At is when it changed.
func (a *Agent) recordLinks(c *link.Cycle) {
	path := filepath.Join(a.cfg.State, LinksFile)
	var old linkRecord
	if err := readJSON(path, &old); err == nil && old.Used == c.Name() && slices.Equal(old.Links, c.States) {
		return
	}
	rec := linkRecord{At: a.clock.Now().UTC().Truncate(time.Second), Used: c.Name(), Links: c.States}
	if err := writeJSON(path, rec); err != nil {
		a.log.Warn("links record", "err", err)
	}
}

// withLink adds the signal of the cycle's link, when known, to a health
// log message.
func withLink(msg string, c *link.Cycle) string {
	if c == nil || c.Link == nil {
		return msg
	}
	if sig := signalOf(c); sig != "" {
		return msg + "; " + c.Link.Name + " signal " + sig
	}
	return msg
}

// writeLinks prints the links part of `ferry-agent status`.
func writeLinks(w interface{ Write([]byte) (int, error) }, state string, budget *float64, ledger *link.Ledger, now time.Time) error {
	var rec linkRecord
	if err := readJSON(filepath.Join(state, LinksFile), &rec); err != nil {
		return err
	}
	if rec.At.IsZero() {
		return nil
	}
	for _, s := range rec.Links {
		line := "up"
		if !s.Up {
			line = "down: " + s.Why
		}
		if s.Signal != "" {
			line += "; signal " + s.Signal
		}
		if s.Name == rec.Used {
			line += "; used"
		}
		fmt.Fprintf(w, "%-14s %s %s (since %s)\n", "link:", s.Name, line, rec.At.Format(time.RFC3339))
	}
	spent, err := ledger.Spent(now)
	if err != nil {
		return err
	}
	b := "no monthly_budget"
	if budget != nil {
		b = "of " + link.Money(*budget)
	}
	fmt.Fprintf(w, "%-14s spent %s this month %s\n", "budget:", link.Money(spent), strings.TrimSpace(b))
	return nil
}

func waitReason(why string, err error) string {
	if err != nil {
		return "budget ledger: " + err.Error()
	}
	return why
}
