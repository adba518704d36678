package reporter

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/fleettest"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

const token = "ferry-fleet-test-token"

// service is a real fleet service that can be switched off (503s).
type service struct {
	url   string
	store *store.Store
	down  atomic.Bool
}

func startService(t *testing.T) *service {
	t.Helper()
	s := &service{store: fleettest.Store(t)}
	s.url = fleettest.Serve(t, s.store, token, fleettest.Down(s.down.Load))
	return s
}

func open(t *testing.T, state, url, tok string, max int) *Reporter {
	t.Helper()
	r, err := Open(Config{State: state, URL: url, Token: tok, Device: "dev-1", MaxQueue: max})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func cycle(outcome string) *report.Report {
	return &report.Report{Time: time.Now(), Version: "v1", Sequence: 1, Outcome: outcome}
}

func numbers(t *testing.T, s *service) []uint64 {
	t.Helper()
	h, err := s.store.History(t.Context(), "dev-1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var n []uint64
	for i := len(h) - 1; i >= 0; i-- {
		n = append(n, h[i].Number)
	}
	return n
}

func TestKeyMadeOnce(t *testing.T) {
	state := t.TempDir()
	a, err := LoadKey(state)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadKey(state)
	if err != nil || !a.Equal(b) {
		t.Fatalf("second LoadKey: another key (%v)", err)
	}
	pub, _ := os.ReadFile(filepath.Join(state, "fleet.pub"))
	if strings.TrimSpace(string(pub)) != base64.StdEncoding.EncodeToString(a.Public().(ed25519.PublicKey)) {
		t.Errorf("fleet.pub = %q: not the key's public half", pub)
	}
	if fi, err := os.Stat(filepath.Join(state, "fleet.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("fleet.key mode: %v %v", fi.Mode(), err)
	}
}

func TestQueueWhileDown(t *testing.T) {
	s := startService(t)
	state := t.TempDir()
	r := open(t, state, s.url, token, 10)
	if err := r.Report(t.Context(), cycle(report.Updated)); err != nil {
		t.Fatal(err)
	}
	s.down.Store(true)
	for range 3 {
		if err := r.Report(t.Context(), cycle(report.UpToDate)); !errors.Is(err, ErrSend) {
			t.Fatalf("report while the service is down: %v, want ErrSend", err)
		}
	}
	if n, _ := r.Queued(); n != 3 {
		t.Errorf("%d reports queued, want 3", n)
	}
	s.down.Store(false)
	r = open(t, state, s.url, token, 10) // a restart keeps the queue and numbering
	if err := r.Report(t.Context(), cycle(report.UpToDate)); err != nil {
		t.Fatal(err)
	}
	if got := numbers(t, s); len(got) != 5 || got[4] != got[0]+4 {
		t.Errorf("stored reports %v, want 5 in a row", got)
	}
	if n, _ := r.Queued(); n != 0 {
		t.Errorf("%d reports still queued", n)
	}
}

func TestQueueBounded(t *testing.T) {
	s := startService(t)
	s.down.Store(true)
	r := open(t, t.TempDir(), s.url, token, 3)
	for range 5 {
		r.Report(t.Context(), cycle(report.Failed))
	}
	if n, _ := r.Queued(); n != 3 {
		t.Errorf("%d queued, want 3 (the bound)", n)
	}
	if d, _ := r.Dropped(); d != 2 {
		t.Errorf("dropped %d, want 2", d)
	}
	s.down.Store(false)
	if err := r.Report(t.Context(), cycle(report.UpToDate)); err != nil {
		t.Fatal(err)
	}
	got := numbers(t, s)
	first := uint64(0)
	if len(got) == 3 {
		first = got[0] - 3
	}
	if len(got) != 3 || got[1] != first+4 || got[2] != first+5 {
		t.Errorf("stored %v, want the 4th to 6th reports (the 3 oldest dropped)", got)
	}
	d, err := s.store.Device(t.Context(), "dev-1")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.store.History(t.Context(), d.ID, 1)
	if len(h) != 1 || h[0].Number != first+5 || h[0].Dropped != 3 {
		t.Errorf("newest report %+v: want the 6th, saying 3 dropped", h)
	}
}

// TestRefusedIsDropped: a 4xx is final; the report does not block the queue.
func TestRefusedIsDropped(t *testing.T) {
	s := startService(t)
	r := open(t, t.TempDir(), s.url, "", 10) // no token: unknown device
	if err := r.Report(t.Context(), cycle(report.Updated)); err != nil {
		t.Errorf("a refused report is logged and dropped, not an error: %v", err)
	}
	if n, _ := r.Queued(); n != 0 {
		t.Errorf("%d queued after a refusal, want 0", n)
	}
	if got := numbers(t, s); len(got) != 0 {
		t.Errorf("stored %v from an unenrolled device", got)
	}
}

// TestNumbersFromTheClock: a wiped state folder does not restart at 1.
func TestNumbersFromTheClock(t *testing.T) {
	s := startService(t)
	before := uint64(time.Now().UnixMilli())
	r := open(t, t.TempDir(), s.url, token, 10)
	if err := r.Report(t.Context(), cycle(report.Updated)); err != nil {
		t.Fatal(err)
	}
	if got := numbers(t, s); len(got) != 1 || got[0] < before || got[0] > uint64(time.Now().UnixMilli()) {
		t.Errorf("first number %v, want the Unix time in ms (from %d)", got, before)
	}
}

func TestNoDeviceID(t *testing.T) {
	if _, err := Open(Config{State: t.TempDir(), URL: "http://127.0.0.1:1/"}); err == nil {
		t.Error("Open without a device id")
	}
}
