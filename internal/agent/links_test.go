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
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/link"
	"github.com/ferry-ota/ferry/internal/manifest"
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

// TestFailedCycleCharged: an update whose download fails over a paid link
// (a blob that does not match its signed digest) is charged for the bytes
// it fetched: a failed download costs all the same.
func TestFailedCycleCharged(t *testing.T) {
	t.Parallel()
	r := newRig(t, `
http_retries = 0
max_wait_for_free_hours = 0
[[transport]]
name = "cellular"
kind = "cellular"
cost_per_mb = 10000.0
interface = "wwan0"
up_timeout_sec = 0
`)
	clk := clock.NewFake(time.Date(2026, 11, 30, 12, 0, 0, 0, time.Local))
	p := &switchProber{}
	p.set("cellular")
	a := r.agent(t, Options{Clock: clk, LinkProber: p})
	tree := good("1.0")
	tree["big"] = string(noise(20000))
	m := r.sim.Publish(originsim.Release{Version: "1.0"}, tree)
	var blob manifest.File
	for _, f := range m.Files {
		if f.Path == "big" {
			blob = f
		}
	}
	r.sim.Put(layout.Blob(blob.SHA256), noise(int(blob.ZSize))) // damaged on the origin
	manifestSize := int64(len(r.sim.Get(layout.Manifest("1.0"))))
	res, err := a.Update(context.Background())
	if err == nil {
		t.Fatalf("a damaged blob: %v, want an error", res)
	}
	spent, err := a.links.Ledger.Spent(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if least := link.Cost(manifestSize+blob.ZSize, 10000); spent < least-1e-9 {
		t.Fatalf("ledger spent %v after a failed download, want at least %v (manifest %d and blob %d bytes at 10000/MB)",
			spent, least, manifestSize, blob.ZSize)
	}
}

// noise returns n bytes that do not compress.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// TestLoRaStatusUplink: with no data link up, the daemon's LoRa module
// (emulated over a pseudo-terminal, its family asked with AT+VER?) sends
// the status uplink, the installed sequence and the last result over a
// data link, at most once an hour, also across a restart; with a data
// link up nothing is sent.
func TestLoRaStatusUplink(t *testing.T) {
	t.Parallel()
	mod := modemtest.Start(t, map[string]modemtest.Answer{"AT+VER?": {Lines: []string{"AT+VER=RUI_4.0.6_RAK3172-E", "OK"}}})
	r := newRig(t, fmt.Sprintf(`
[[transport]]
name = "wifi"
kind = "wifi"
interface = "wlan0"
up_timeout_sec = 0
[[transport]]
name = "lora"
kind = "lora"
modem_port = %q
modem_baud = 9600
`, mod.Path()))
	clk := clock.NewFake(r.sim.Now)
	p := &switchProber{}
	ctx := context.Background()
	start := func() (*Agent, func()) {
		a := r.agent(t, Options{Clock: clk, LinkProber: p})
		return a, a.startLoRa(ctx, func() {})
	}
	a, stop := start()
	p.set("wifi")
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
	if res, err := a.Update(ctx); err != nil || res.To != "1.0" {
		t.Fatalf("over wifi: %v, %v", res, err)
	}
	seq := installed(t, a).Sequence
	uplink := fmt.Sprintf("AT+SEND=2:465501%016X", seq) // "FU", updated, the sequence
	p.set()
	update := func() {
		t.Helper()
		if res, err := a.Update(ctx); err != nil || !strings.HasPrefix(res.Deferred, "no link is up") {
			t.Fatalf("no link: %v, %v", res, err)
		}
	}
	update()
	clk.Advance(30 * time.Minute)
	update() // within the hour: nothing
	stop()
	a, stop = start() // the time of the last uplink survives a restart
	defer stop()
	clk.Advance(29 * time.Minute)
	update()
	clk.Advance(time.Minute)
	update()
	want := []string{"AT+VER?", uplink, "AT+VER?", uplink}
	deadline := time.Now().Add(5 * time.Second)
	for len(mod.Commands()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // and nothing more
	if got := mod.Commands(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("the module got %q, want %q", got, want)
	}
}
