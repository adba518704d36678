package link

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/modem"
	"github.com/ferry-ota/ferry/internal/update"
)

// Policy is what the owner allows updates to cost.
type Policy struct {
	MaxUpdateCost *float64      // nil: no limit
	MonthlyBudget *float64      // nil: no limit
	WaitForFree   time.Duration // how long a costly update waits for a free link
}

// PolicyFromConfig returns the policy of the config's link keys.
func PolicyFromConfig(c *config.Config) Policy {
	return Policy{MaxUpdateCost: c.MaxUpdateCost, MonthlyBudget: c.MonthlyBudget,
		WaitForFree: time.Duration(c.WaitForFreeHours() * float64(time.Hour))}
}

// Manager chooses a link for each update cycle.
type Manager struct {
	Links  []config.Transport // in order of preference; lora links are skipped
	Policy Policy
	Prober Prober
	Ledger *Ledger
	Now    func() time.Time
	Sleep  func(context.Context, time.Duration) error // default Sleep
	// Bind, if set, binds the agent's connections to an interface.
	Bind func(iface string)
	// Modem, if set, asks the modem of a link with a modem_port for its
	// signal; an error wrapping modem.ErrNotRegistered takes the link down.
	Modem func(ctx context.Context, t config.Transport) (signal string, err error)
}

// Cycle is the link of one update cycle; it is the cycle's update.Budget.
type Cycle struct {
	m      *Manager
	Link   *config.Transport // nil: no link is up
	States []State           // every data link probed, in the order tried
}

// dataLinks returns the links that can carry data, cheapest first, the
// file's order breaking ties.
func (m *Manager) dataLinks() []config.Transport {
	var ls []config.Transport
	for _, t := range m.Links {
		if t.Kind != config.KindLoRa {
			ls = append(ls, t)
		}
	}
	slices.SortStableFunc(ls, func(a, b config.Transport) int { return cmp.Compare(a.CostPerMB, b.CostPerMB) })
	return ls
}

// Begin probes the links, cheapest first, each for up to its
// up_timeout_sec, and binds the agent to the first that is up.
func (m *Manager) Begin(ctx context.Context) *Cycle {
	sleep := m.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	c := &Cycle{m: m}
	for _, t := range m.dataLinks() {
		s := WaitUp(ctx, m.Prober, t, sleep)
		if s.Up {
			s = m.modemState(ctx, t, s)
		}
		c.States = append(c.States, s)
		if s.Up {
			c.Link = &t
			break
		}
	}
	if c.Link != nil && m.Bind != nil {
		m.Bind(c.Link.Interface)
	}
	return c
}

// modemState adds what the link's modem says to s.
func (m *Manager) modemState(ctx context.Context, t config.Transport, s State) State {
	if t.ModemPort == "" || m.Modem == nil {
		return s
	}
	sig, err := m.Modem(ctx, t)
	switch {
	case errors.Is(err, modem.ErrNotRegistered):
		s.Up, s.Why = false, err.Error()
	case err != nil:
		s.Signal = "unknown: " + err.Error()
	default:
		s.Signal = sig
	}
	return s
}

// ModemSignal opens t's modem_port and asks the modem its registration,
// signal and operator: the Manager's Modem.
func ModemSignal(ctx context.Context, t config.Transport) (string, error) {
	c, err := modem.Open(t.ModemPort, t.ModemBaud)
	if err != nil {
		return "", err
	}
	defer c.Close()
	st, err := modem.Query(ctx, c, modem.DefaultTimeout)
	if err != nil {
		return "", err
	}
	return st.String(), nil
}

// Down returns the reason no link is up, or "" when one is.
func (c *Cycle) Down() string {
	if c.Link != nil {
		return ""
	}
	if len(c.States) == 0 {
		return "no link configured can carry data (a lora link is a trigger only)"
	}
	why := make([]string, len(c.States))
	for i, s := range c.States {
		why[i] = s.Name + ": " + s.Why
	}
	return "no link is up (" + strings.Join(why, "; ") + ")"
}

// Free reports whether the cycle's link costs nothing.
func (c *Cycle) Free() bool { return c.Link != nil && c.Link.CostPerMB == 0 }

// Name returns the cycle's link, or "".
func (c *Cycle) Name() string {
	if c.Link == nil {
		return ""
	}
	return c.Link.Name
}

// freeLink returns the first free data link other than the cycle's, or "".
func (c *Cycle) freeLink() string {
	for _, t := range c.m.dataLinks() {
		if t.CostPerMB == 0 {
			return t.Name
		}
	}
	return ""
}

// Wait returns why a release p must still wait for a free link, or "". It
// needs no byte count, so the agent asks it before the manifest is fetched.
func (c *Cycle) Wait(p *manifest.Pointer) (string, error) {
	if c.Link == nil || c.Free() || c.m.Policy.WaitForFree <= 0 {
		return "", nil
	}
	free := c.freeLink()
	if free == "" {
		return "", nil
	}
	now := c.m.Now()
	seen, err := c.m.Ledger.FirstSeen(now, p.Manifest.String())
	if err != nil {
		return "", err
	}
	until := seen.Add(c.m.Policy.WaitForFree)
	if !now.Before(until) {
		return "", nil
	}
	return fmt.Sprintf("waiting for a free link (%s) until %s; %s costs %s per MB",
		free, until.Local().Format("2006-01-02 15:04"), c.Link.Name, Money(c.Link.CostPerMB)), nil
}

// Allow implements update.Budget: a free link is always allowed; a costly
// one when the release has waited long enough for a free link and the cost
// is within max_update_cost and what is left of this month's budget.
func (c *Cycle) Allow(ctx context.Context, p *manifest.Pointer, n int64) (string, error) {
	if c.Link == nil {
		return "", &update.Deferral{Reason: c.Down()}
	}
	if c.Free() {
		return c.Link.Name, nil
	}
	if why, err := c.Wait(p); err != nil || why != "" {
		return c.Link.Name, deferral(why, err)
	}
	cost := Cost(n, c.Link.CostPerMB)
	head := fmt.Sprintf("%s over %s costs %s", Size(n), c.Link.Name, Money(cost))
	pol := c.m.Policy
	if pol.MaxUpdateCost != nil && cost > *pol.MaxUpdateCost {
		return c.Link.Name, &update.Deferral{Reason: fmt.Sprintf("%s; max_update_cost is %s", head, Money(*pol.MaxUpdateCost))}
	}
	if pol.MonthlyBudget != nil {
		spent, err := c.m.Ledger.Spent(c.m.Now())
		if err != nil {
			return c.Link.Name, err
		}
		if left := max(*pol.MonthlyBudget-spent, 0); cost > left {
			return c.Link.Name, &update.Deferral{Reason: fmt.Sprintf("%s; budget left this month %s", head, Money(left))}
		}
	}
	return c.Link.Name, nil
}

func deferral(why string, err error) error {
	if err != nil {
		return err
	}
	return &update.Deferral{Reason: why}
}

// Charge records in the ledger what n bytes over the cycle's link cost.
func (c *Cycle) Charge(n int64) error {
	if c.Link == nil || n <= 0 {
		return nil
	}
	return c.m.Ledger.Charge(c.m.Now(), Cost(n, c.Link.CostPerMB))
}

var _ update.Budget = (*Cycle)(nil)
