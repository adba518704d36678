package link

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/modem/modemtest"
	"github.com/ferry-ota/ferry/internal/update"
)

// fakeProber says which links are up; a link in slow comes up after n probes.
type fakeProber struct {
	up     map[string]bool
	slow   map[string]int
	probes map[string]int
}

func (f *fakeProber) Probe(_ context.Context, t config.Transport) State {
	if f.probes == nil {
		f.probes = map[string]int{}
	}
	f.probes[t.Name]++
	if f.up[t.Name] || (f.slow[t.Name] > 0 && f.probes[t.Name] > f.slow[t.Name]) {
		return State{Name: t.Name, Up: true}
	}
	return State{Name: t.Name, Why: "interface " + t.Interface + " is down"}
}

func noSleep(context.Context, time.Duration) error { return nil }

var links = []config.Transport{
	{Name: "lora", Kind: "lora", ModemPort: "/dev/ttyUSB1"},
	{Name: "cellular", Kind: "cellular", CostPerMB: 0.5, Interface: "wwan0", UpTimeoutSec: intp(1)},
	{Name: "wifi", Kind: "wifi", Interface: "wlan0", UpTimeoutSec: intp(2)},
}

func ptr(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }

func manager(t *testing.T, up map[string]bool, pol Policy, now *time.Time) *Manager {
	t.Helper()
	return &Manager{Links: links, Policy: pol, Prober: &fakeProber{up: up}, Ledger: &Ledger{Path: filepath.Join(t.TempDir(), LedgerFile), Loc: time.UTC},
		Now: func() time.Time { return *now }, Sleep: noSleep}
}

var release = &manifest.Pointer{Version: "1.4", Manifest: manifest.Digest{1}}

func TestChoosesCheapestUp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	m := manager(t, map[string]bool{"wifi": true, "cellular": true}, Policy{}, &now)
	var bound string
	m.Bind = func(iface string) { bound = iface }
	c := m.Begin(context.Background())
	if c.Name() != "wifi" || !c.Free() || bound != "wlan0" {
		t.Fatalf("chose %q (bound %q), want the free wifi although cellular is listed first", c.Name(), bound)
	}
	// wifi down: it is probed for its whole timeout (2 s = 8 probes + 1), then cellular.
	p := &fakeProber{up: map[string]bool{"cellular": true}}
	m.Prober = p
	c = m.Begin(context.Background())
	if c.Name() != "cellular" || p.probes["wifi"] != 9 || !strings.Contains(c.States[0].Why, "waited 2s") {
		t.Fatalf("fallback: chose %q after %d probes of wifi: %+v", c.Name(), p.probes["wifi"], c.States)
	}
	// wifi comes up within its timeout: it is waited for.
	m.Prober = &fakeProber{up: map[string]bool{"cellular": true}, slow: map[string]int{"wifi": 3}}
	if c = m.Begin(context.Background()); c.Name() != "wifi" {
		t.Fatalf("a slow wifi was not waited for: %q", c.Name())
	}
	m.Prober = &fakeProber{}
	c = m.Begin(context.Background())
	_, err := c.Allow(context.Background(), release, 10)
	var d *update.Deferral
	if !errors.As(err, &d) || d.Reason != "no link is up (wifi: interface wlan0 is down (waited 2s); cellular: interface wwan0 is down (waited 1s))" {
		t.Fatalf("no link up: %v", err)
	}
}

func TestDecision(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cellOnly := map[string]bool{"cellular": true}
	for _, tc := range []struct {
		name  string
		up    map[string]bool
		pol   Policy
		spent float64
		after time.Duration // since the release was first seen
		bytes int64
		want  string // "" allowed
	}{
		{"free link, any size", map[string]bool{"wifi": true, "cellular": true}, Policy{MaxUpdateCost: ptr(0)}, 0, 0, 5e9, ""},
		{"over the month's budget", cellOnly, Policy{MonthlyBudget: ptr(1)}, 0.75, 0, 1.2e6, "1.2 MB over cellular costs 0.60; budget left this month 0.25"},
		{"within the month's budget", cellOnly, Policy{MonthlyBudget: ptr(1)}, 0.35, 0, 1.2e6, ""},
		{"budget overspent", cellOnly, Policy{MonthlyBudget: ptr(1)}, 1.5, 0, 1e3, "0.00 MB over cellular costs 0.00; budget left this month 0.00"},
		{"over max_update_cost", cellOnly, Policy{MaxUpdateCost: ptr(0.5)}, 0, 0, 1.2e6, "1.2 MB over cellular costs 0.60; max_update_cost is 0.50"},
		{"waiting for free", cellOnly, Policy{WaitForFree: 6 * time.Hour}, 0, 5 * time.Hour, 1e3, "waiting for a free link (wifi) until"},
		{"waited long enough", cellOnly, Policy{WaitForFree: 6 * time.Hour}, 0, 6 * time.Hour, 1e3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := start
			m := manager(t, tc.up, tc.pol, &now)
			if err := m.Ledger.Charge(now, tc.spent); err != nil {
				t.Fatal(err)
			}
			c := m.Begin(context.Background())
			if _, err := c.Wait(release); err != nil { // first seen now
				t.Fatal(err)
			}
			now = now.Add(tc.after)
			link, err := c.Allow(context.Background(), release, tc.bytes)
			var d *update.Deferral
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("deferred over %s: %v", link, err)
			case tc.want != "" && (!errors.As(err, &d) || !strings.HasPrefix(d.Reason, tc.want)):
				t.Fatalf("Allow = %v, want a deferral %q", err, tc.want)
			}
		})
	}
}

func TestLedgerAcrossMonthsAndRestarts(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("UTC+10", 10*3600)
	path := filepath.Join(t.TempDir(), LedgerFile)
	l := &Ledger{Path: path, Loc: loc}
	// 2026-11-30 13:59 UTC is 23:59 on the 30th, local: November.
	nov := time.Date(2026, 11, 30, 13, 59, 0, 0, time.UTC)
	if err := l.Charge(nov, 0.6); err != nil {
		t.Fatal(err)
	}
	l = &Ledger{Path: path, Loc: loc} // a restart
	if s, err := l.Spent(nov); err != nil || s != 0.6 {
		t.Fatalf("after a restart: spent %v, %v; want 0.6", s, err)
	}
	// Two minutes later it is December 1st, local: a new month, though UTC is still November.
	dec := nov.Add(2 * time.Minute)
	if s, _ := l.Spent(dec); s != 0 {
		t.Fatalf("December (local) starts with %v spent, want 0", s)
	}
	if err := l.Charge(dec, 0.25); err != nil {
		t.Fatal(err)
	}
	if s, _ := l.Spent(nov); s != 0.6 {
		t.Fatalf("November changed to %v by a December charge", s)
	}
	// A year of months keeps the file bounded.
	for i := range 20 {
		if err := l.Charge(dec.AddDate(0, i+1, 0), 1); err != nil {
			t.Fatal(err)
		}
	}
	f, err := l.read()
	if err != nil || len(f.Months) != monthsKept {
		t.Fatalf("months kept: %d, %v", len(f.Months), err)
	}
	// First seen survives a restart; a newer release starts its own wait.
	seen, _ := l.FirstSeen(nov, "a")
	if again, _ := (&Ledger{Path: path}).FirstSeen(nov.Add(time.Hour), "a"); !again.Equal(seen) {
		t.Fatalf("first seen moved from %v to %v", seen, again)
	}
	if b, _ := l.FirstSeen(nov.Add(time.Hour), "b"); !b.Equal(nov.Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("newer release first seen %v", b)
	}
	// A damaged ledger is refused, not read as "nothing spent".
	if err := os.WriteFile(path, []byte(`{"months":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Spent(nov); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged ledger: %v", err)
	}
}

func TestInterfaces(t *testing.T) {
	t.Parallel()
	s := Interfaces{}.Probe(context.Background(), config.Transport{Name: "x", Interface: "ferrynope0"})
	if s.Up || s.Why != "interface ferrynope0 not found" {
		t.Fatalf("missing interface: %+v", s)
	}
	s = Interfaces{}.Probe(context.Background(), config.Transport{Name: "lo", Interface: "lo"})
	if s.Up {
		t.Fatalf("loopback counted as a way out: %+v", s)
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{1_200_000: "1.2 MB", 40_000: "0.04 MB", 0: "0.00 MB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestModemState: a cellular link's modem, emulated over a pseudo-terminal,
// gives the signal; a modem whose registration is refused takes the link
// down and the next is used; a modem that does not answer leaves the link
// up with its signal unknown.
func TestModemState(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		name      string
		change    map[string]modemtest.Answer
		link, sig string
	}{
		{"registered", nil, "cellular", "CSQ 17 (-79 dBm), registered (home), Ferry Mobile"},
		{"refused", map[string]modemtest.Answer{"AT+CEREG?": {Lines: []string{"+CEREG: 0,3", "OK"}}, "AT+CREG?": {Lines: []string{"+CREG: 0,3", "OK"}}}, "cable", ""},
		{"garbage", map[string]modemtest.Answer{"AT+CSQ": {Lines: []string{"\x01\x02", "OK"}}}, "cellular", "unknown: modem: unparsable answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := modemtest.Registered()
			for k, v := range tc.change {
				script[k] = v
			}
			mdm := modemtest.Start(t, script)
			m := manager(t, map[string]bool{"cellular": true, "cable": true}, Policy{}, &now)
			m.Links = []config.Transport{
				{Name: "cellular", Kind: "cellular", CostPerMB: 0.5, Interface: "wwan0", ModemPort: mdm.Path(), ModemBaud: 115200},
				{Name: "cable", Kind: "ethernet", CostPerMB: 0.9, Interface: "eth0"},
			}
			m.Modem = ModemSignal
			c := m.Begin(context.Background())
			if c.Name() != tc.link || !strings.HasPrefix(c.States[0].Signal, tc.sig) {
				t.Fatalf("chose %q, states %+v", c.Name(), c.States)
			}
			if tc.link == "cable" && !strings.Contains(c.States[0].Why, "registration denied") {
				t.Fatalf("refused modem: %+v", c.States[0])
			}
		})
	}
}
