package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/link"
	"github.com/ferry-ota/ferry/internal/modem/modemtest"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// switchProber: links named in up are up; cellular has a signal.
type switchProber struct {
	mu sync.Mutex
	up map[string]bool
}

func (p *switchProber) set(up ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = map[string]bool{}
	for _, n := range up {
		p.up[n] = true
	}
}

func (p *switchProber) Probe(_ context.Context, t config.Transport) link.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := link.State{Name: t.Name, Up: p.up[t.Name], Why: "interface " + t.Interface + " is down"}
	if t.Kind == config.KindCellular {
		s.Signal = "CSQ 17 (-79 dBm)"
	}
	return s
}

const linkKeys = `
max_update_cost = 100.0
monthly_budget = 0.5
max_wait_for_free_hours = 6
[[transport]]
name = "wifi"
kind = "wifi"
interface = "wlan0"
up_timeout_sec = 0
[[transport]]
name = "cellular"
kind = "cellular"
cost_per_mb = 10000.0
interface = "wwan0"
up_timeout_sec = 0
`

// TestUpdateOverLinks: the free link is taken; with only the costly one up a
// new release waits for the free one, then is deferred for its cost over
// the month's budget, with the reason in the result, the health log and
// status; a new month's budget lets it through and the ledger is charged.
func TestUpdateOverLinks(t *testing.T) {
	t.Parallel()
	r := newRig(t, linkKeys)
	clk := clock.NewFake(time.Date(2026, 11, 30, 12, 0, 0, 0, time.Local))
	p := &switchProber{}
	a := r.agent(t, Options{Clock: clk, LinkProber: p})
	ctx := context.Background()

	p.set("wifi", "cellular")
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
	res, err := a.Update(ctx)
	if err != nil || res.Link != "wifi" || !strings.HasSuffix(res.String(), "over wifi)") {
		t.Fatalf("both up: %v, %v; want the update over wifi", res, err)
	}

	p.set()
	res, err = a.Update(ctx)
	if err != nil || res.String() != "deferred (no link is up (wifi: interface wlan0 is down; cellular: interface wwan0 is down))" {
		t.Fatalf("no link: %v, %v", res, err)
	}

	p.set("cellular")
	r.sim.Publish(originsim.Release{Version: "2.0"}, good("2.0"))
	res, err = a.Update(ctx)
	if err != nil || !strings.HasPrefix(res.Deferred, "waiting for a free link (wifi) until") {
		t.Fatalf("costly link, just seen: %v, %v; want a wait for wifi", res, err)
	}
	clk.Advance(7 * time.Hour) // past max_wait_for_free_hours
	res, err = a.Update(ctx)
	if err != nil || !strings.Contains(res.Deferred, " over cellular costs ") || !strings.HasSuffix(res.Deferred, "; budget left this month 0.50") {
		t.Fatalf("over budget: %v, %v", res, err)
	}
	if got := installed(t, a).Version; got != "1.0" {
		t.Fatalf("installed %s after a deferral", got)
	}
	last := a.History().Summary().LastDeferral
	if last == nil || !strings.Contains(last.Message, res.Deferred) || !strings.Contains(last.Message, "cellular signal CSQ 17") {
		t.Fatalf("health log deferral: %+v", last)
	}
	var out strings.Builder
	if err := WriteStatus(&out, r.cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"budget left this month 0.50", "link:          cellular up; signal CSQ 17 (-79 dBm); used", "link:          wifi down: interface wlan0 is down"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}

	// Raise the budget (a config change): the update goes through and is charged.
	a.links.Policy.MonthlyBudget = ptrf(1e9)
	a.links.Policy.MaxUpdateCost = ptrf(1e9)
	spentBefore, _ := a.links.Ledger.Spent(clk.Now())
	res, err = a.Update(ctx)
	if err != nil || res.Link != "cellular" || installed(t, a).Version != "2.0" {
		t.Fatalf("budget allows: %v, %v", res, err)
	}
	spent, _ := a.links.Ledger.Spent(clk.Now())
	if want := spentBefore + link.Cost(res.Downloaded, 10000); spent < want-1e-9 || spent > want+1e-9 {
		t.Fatalf("ledger spent %v, want %v (+%d bytes at 10000/MB)", spent, want, res.Downloaded)
	}
	if c := a.History().Summary().Counts[healthlog.KindCheck]; c != 2 {
		t.Errorf("health log has %d downloads with their link, want 2", c)
	}
}

func ptrf(v float64) *float64 { return &v }

// TestLoRaTriggersACheck: the daemon listens to the LoRa module (emulated
// over a pseudo-terminal); a downlink announcing a newer sequence makes it
// check at once, long before the hourly poll, over its data link.
func TestLoRaTriggersACheck(t *testing.T) {
	t.Parallel()
	mod := modemtest.Start(t, map[string]modemtest.Answer{})
	r := newRig(t, fmt.Sprintf(`
[[transport]]
name = "wifi"
kind = "wifi"
interface = "wlan0"
[[transport]]
name = "lora"
kind = "lora"
modem_port = %q
modem_baud = 9600
`, mod.Path()))
	sock := filepath.Join(r.dir, "notify.sock")
	notes := datagrams(t, sock)
	env := map[string]string{"NOTIFY_SOCKET": sock}
	clk := clock.NewFake(r.sim.Now)
	p := &switchProber{}
	p.set("wifi")
	a := r.agent(t, Options{Clock: clk, LinkProber: p, Getenv: func(k string) string { return env[k] }})
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	await(t, notes, "READY=1", "STATUS=running 1.0")
	r.sim.Publish(originsim.Release{Version: "2.0"}, good("2.0"))
	seq := installed(t, a).Sequence + 1
	mod.Send(fmt.Sprintf("+EVT:RX_1:-70:8:UNICAST:1:4653%016x", seq))
	await(t, notes, "STATUS=running 2.0")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !clk.Now().Equal(r.sim.Now) {
		t.Errorf("the clock moved to %v: the check was not the trigger's", clk.Now())
	}
}

// TestLinksRecordWrittenOnChange: a check whose links are as before does
// not rewrite links.json (flash wear).
func TestLinksRecordWrittenOnChange(t *testing.T) {
	t.Parallel()
	r := newRig(t, linkKeys)
	clk := clock.NewFake(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	p := &switchProber{}
	p.set("wifi")
	a := r.agent(t, Options{Clock: clk, LinkProber: p})
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
	path := filepath.Join(r.state, LinksFile)
	stat := func() time.Time {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	for i := range 2 {
		if _, err := a.Update(context.Background()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			must(t, os.Chtimes(path, time.Unix(1, 0), time.Unix(1, 0)))
		}
		clk.Advance(time.Hour)
	}
	if !stat().Equal(time.Unix(1, 0)) {
		t.Fatal("links.json rewritten by a check that changed nothing")
	}
	p.set("cellular")
	if _, err := a.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stat().Equal(time.Unix(1, 0)) {
		t.Fatal("links.json not written when the link changed")
	}
}
