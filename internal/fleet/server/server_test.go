package server

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

const token = "fleet-test-token"

var now = time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)

type fixture struct {
	srv   *httptest.Server
	store *store.Store
	clock atomic.Int64 // the service's clock, Unix ms
}

// setNow sets the service's clock.
func (f *fixture) setNow(t time.Time) { f.clock.Store(t.UnixMilli()) }

func start(t testing.TB, allow ...[]byte) *fixture {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st}
	f.setNow(now)
	f.srv = httptest.NewServer(New(Config{Store: st, Tokens: []string{"other", token}, Allow: allow,
		Now: func() time.Time { return time.UnixMilli(f.clock.Load()).UTC() }}))
	t.Cleanup(f.srv.Close)
	return f
}

func devKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func rep(dev string, n uint64) *report.Report {
	return &report.Report{Device: dev, Number: n, Time: now.Add(-time.Minute), Channel: "stable", Version: "v1", Sequence: 1, Outcome: report.Updated}
}

func signed(t testing.TB, r *report.Report, k ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := report.Sign(r, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body with the token (if any) and returns the status and text.
func (f *fixture) post(t testing.TB, body []byte, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", f.srv.URL+"/v1/reports", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set(TokenHeader, tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(text)
}

func TestAcceptAndResend(t *testing.T) {
	f := start(t)
	body := signed(t, rep("a", 1), devKey(1))
	if code, text := f.post(t, body, token); code != http.StatusCreated {
		t.Fatalf("first report: %d %s", code, text)
	}
	if code, text := f.post(t, body, ""); code != http.StatusOK {
		t.Errorf("resent report (enrolled device, no token needed): %d %s", code, text)
	}
	h, err := f.store.History(t.Context(), "a", 10)
	if err != nil || len(h) != 1 {
		t.Errorf("history after a resend = %d reports, %v: want 1", len(h), err)
	}
	if code, text := f.post(t, signed(t, rep("a", 2), devKey(1)), ""); code != http.StatusCreated {
		t.Errorf("second report of an enrolled device without the token: %d %s", code, text)
	}
}

// TestPruneKeepsExactlyOnce: a report pruned for age is refused when
// resent, not stored again.
func TestPruneKeepsExactlyOnce(t *testing.T) {
	f := start(t)
	old := rep("a", 1)
	old.Time = now.AddDate(0, 0, -80)
	body := signed(t, old, devKey(1))
	if code, text := f.post(t, body, token); code != 201 {
		t.Fatalf("%d %s", code, text)
	}
	f.setNow(now.AddDate(0, 0, 11)) // the report is now 91 days old
	h := New(Config{Store: f.store, Now: func() time.Time { return now.AddDate(0, 0, 11) }})
	if n, err := h.Prune(t.Context()); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if code, text := f.post(t, body, ""); code != 400 || !strings.Contains(text, "clock skew") {
		t.Errorf("resent pruned report: %d %q, want 400 clock skew", code, text)
	}
}

func TestAllowList(t *testing.T) {
	f := start(t, devKey(5).Public().(ed25519.PublicKey))
	if code, text := f.post(t, signed(t, rep("listed", 1), devKey(5)), ""); code != http.StatusCreated {
		t.Errorf("allow-listed key without a token: %d %s", code, text)
	}
	if code, _ := f.post(t, signed(t, rep("unlisted", 1), devKey(6)), ""); code != http.StatusUnauthorized {
		t.Errorf("unlisted key without a token: %d, want 401", code)
	}
}

func TestRefusals(t *testing.T) {
	f := start(t)
	if code, text := f.post(t, signed(t, rep("a", 1), devKey(1)), token); code != http.StatusCreated {
		t.Fatalf("enrolling a: %d %s", code, text)
	}
	tampered := bytes.Replace(signed(t, rep("a", 2), devKey(1)), []byte(`"v1"`), []byte(`"v2"`), 1)
	future, old := rep("a", 3), rep("a", 4)
	future.Time, old.Time = now.Add(time.Hour), now.AddDate(0, -6, 0)
	cases := []struct {
		name string
		body []byte
		tok  string
		code int
		why  string
	}{
		{"bad signature", tampered, "", 401, "bad signature"},
		{"too large", bytes.Repeat([]byte("x"), report.MaxSize+10), token, 413, "too large"},
		{"malformed", []byte(`{"report":`), token, 400, "malformed"},
		{"clock ahead", signed(t, future, devKey(1)), "", 400, "clock skew"},
		{"clock behind", signed(t, old, devKey(1)), "", 400, "clock skew"},
		{"key of a reports for b", signed(t, rep("b", 1), devKey(1)), token, 403, `enrolled as device "a"`},
		{"new key claims a's id", signed(t, rep("a", 9), devKey(2)), token, 403, `device "a" is enrolled with another key`},
		{"unknown device, no token", signed(t, rep("c", 1), devKey(3)), "", 401, "enroll it with the fleet's token"},
		{"unknown device, wrong token", signed(t, rep("c", 1), devKey(3)), "guess", 401, "not the fleet's"},
	}
	for _, c := range cases {
		code, text := f.post(t, c.body, c.tok)
		if code != c.code || !strings.Contains(text, c.why) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, code, text, c.code, c.why)
		}
	}
	h, err := f.store.History(t.Context(), "a", 10)
	if err != nil || len(h) != 1 {
		t.Errorf("device a has %d reports after the refusals (%v), want 1", len(h), err)
	}
	if _, err := f.store.Device(t.Context(), "c"); err == nil {
		t.Error("device c enrolled without a token")
	}
}

// TestReenrollAfterForget: a device whose state was wiped (a new key) is
// refused under its id until an operator forgets its old key.
func TestReenrollAfterForget(t *testing.T) {
	f := start(t)
	f.post(t, signed(t, rep("a", 1), devKey(1)), token)
	if code, text := f.post(t, signed(t, rep("a", 1), devKey(9)), token); code != 403 || !strings.Contains(text, "ferry fleet forget") {
		t.Errorf("new key for a: %d %q, want 403 naming ferry fleet forget", code, text)
	}
	if err := f.store.Forget(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.post(t, signed(t, rep("a", 1), devKey(9)), ""); code != 401 {
		t.Errorf("forgotten device without the token: %d, want 401", code)
	}
	if code, text := f.post(t, signed(t, rep("a", 1), devKey(9)), token); code != 200 {
		t.Errorf("forgotten device, new key, token, report 1 again: %d %q, want 200 (stored before)", code, text)
	}
	if code, text := f.post(t, signed(t, rep("a", 2), devKey(1)), ""); code != 403 {
		t.Errorf("the old key after re-enrollment: %d %q, want 403", code, text)
	}
}

func TestDashboardHTML(t *testing.T) {
	f := start(t)
	f.post(t, signed(t, rep("pump-<1>", 1), devKey(1)), token)
	f.post(t, signed(t, rep("site/pump 3", 1), devKey(3)), token)
	r := rep("pump-2", 1)
	r.Outcome, r.Reason = report.RolledBack, "health check: exit 3"
	f.post(t, signed(t, r, devKey(2)), token)
	_, err := f.store.StartRollout(t.Context(), "stable", rollout.Policy{Stages: []int{5, 100}, Every: time.Hour, HaltBP: 500, MinReports: 1}, "v1", now)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]string{
		"/":                      {"pump-&lt;1&gt;", "health check: exit 3", "Versions across the fleet", "v1 at 5% (stage 1 of 2)"},
		"/?q=pump-2":             {"pump-2", "Devices (3)"},
		"/devices/pump-2":        {"Device pump-2", "rolled-back: health check: exit 3"},
		"/devices/site/pump%203": {"Device site/pump 3"},
	} {
		resp, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, w := range want {
			if resp.StatusCode != 200 || !strings.Contains(string(body), w) {
				t.Errorf("GET %s: %d, lacks %q", path, resp.StatusCode, w)
			}
		}
	}
	resp, err := http.Get(f.srv.URL + "/?q=pump-2")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "pump-&lt;1&gt;") {
			t.Error("the filter q=pump-2 shows pump-<1>")
		}
	}
	if resp, err := http.Get(f.srv.URL + "/devices/nope"); err != nil || resp.StatusCode != 404 {
		t.Errorf("unknown device page: %v %v", resp.StatusCode, err)
	}
}
