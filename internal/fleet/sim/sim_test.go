package sim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/decider"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/server"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/trust"
)

// world is a publisher's key folder and origin folder served over HTTP
// with ETags (as `ferry serve` does).
type world struct {
	dir, keys, origin string
	ring              *keys.Ring
	url               *url.URL
	roots             *trust.Verifiers
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{dir: dir, keys: filepath.Join(dir, "keys"), origin: filepath.Join(dir, "origin")}
	year := time.Now().Add(365 * 24 * time.Hour)
	if err := keys.Generate(w.keys, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: year}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddRollout(w.keys, "stable", keys.RotateOptions{Expires: year}); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.ring, err = keys.Load(w.keys, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.roots = w.ring.Roots
	srv := httptest.NewServer(serveOrigin(w.origin))
	t.Cleanup(srv.Close)
	w.url, _ = url.Parse(srv.URL)
	return w
}

// release publishes version: a few files, one of them different in each.
func (w *world) release(t *testing.T, version string) {
	t.Helper()
	src := filepath.Join(w.dir, "src-"+version)
	files := map[string]string{"app/main.py": "print('" + version + "')\n", "app/lib.py": strings.Repeat("def f(): pass\n", 200), "VERSION": version + "\n"}
	for name, data := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := publish.Release(t.Context(), publish.Dir{Root: src}, publish.Options{Origin: w.origin, Channel: "stable", Version: version,
		Expires: time.Now().Add(30 * 24 * time.Hour), Keys: w.ring})
	if err != nil {
		t.Fatal(err)
	}
}

// serveOrigin serves a folder with a strong ETag per file version.
func serveOrigin(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(path.Clean("/"+r.URL.Path))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
		http.ServeContent(w, r, "", time.Time{}, f)
	})
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var quickRetry = origin.RetryPolicy{Retries: 4, Initial: 5 * time.Millisecond, Max: 40 * time.Millisecond}

// TestNoChangeRoundOneRequest: once every device holds the channel's
// release, a poll costs the origin one request (a 304).
func TestNoChangeRoundOneRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.release(t, "1.0")
	const n = 50
	s := New(Config{Devices: n, Origin: w.url, Roots: w.roots, Channel: "stable", Poll: 50 * time.Millisecond, Jitter: 0.5,
		Rounds: 4, Retry: quickRetry, Seed: 1, IDPrefix: "nc-"})
	res := s.Run(t.Context())
	if got := s.Versions()["1.0"]; got != n {
		t.Fatalf("%d of %d devices run 1.0: %v", got, n, res.Failures)
	}
	c := res.ByOutcome[report.UpToDate]
	if c.Cycles < n*2 || c.MaxRequests != 1 || c.Requests != c.Cycles {
		t.Fatalf("up-to-date cycles: %+v; want at least %d, each one request", c, n*2)
	}
	if res.NotModified < c.Cycles {
		t.Fatalf("%d answers were 304, want at least the %d up-to-date polls", res.NotModified, c.Cycles)
	}
}

// TestHaltScenario is the proof of the halt: under a staged
// rollout (10, 50, 100%), a release whose health check fails on every
// device is halted at its first stage, having reached no more than that
// stage; the devices that took it roll back; the next, good release
// reaches every device. Over a faulty link, with power cuts.
func TestHaltScenario(t *testing.T) {
	w := newWorld(t)
	w.release(t, "1.0")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(w.dir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fleet := httptest.NewServer(server.New(server.Config{Store: st, Tokens: []string{"tok"}}))
	defer fleet.Close()
	go decider.New(decider.Config{Store: st, Origin: w.origin, Keys: w.keys}).Run(ctx, 50*time.Millisecond)

	const n = 200
	poll := 400 * time.Millisecond
	s := New(Config{Devices: n, Origin: w.url, Reports: fleet.URL + "/v1/reports", Token: "tok", Roots: w.roots, Channel: "stable",
		Poll: poll, Jitter: 0.5, FaultRate: 0.02, PowerCutRate: 0.02, Unhealthy: map[string]bool{"2.0": true},
		Retry: quickRetry, Seed: 2, IDPrefix: "halt-"})
	done := make(chan *Result, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, 60*time.Second, "every device runs 1.0", func() bool { return s.Versions()["1.0"] == n })

	// The publisher hands the channel to the fleet service, then releases
	// 2.0, which every device's health check will fail.
	every := 6 * poll
	p := rollout.Policy{Stages: []int{10, 50, 100}, Every: every, HaltBP: 2000, MinReports: 8}
	if _, err := st.StartRollout(ctx, "stable", p, "1.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.StagedRollout(ctx, w.origin, "stable", 10, w.ring, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.release(t, "2.0")
	halted := func() bool {
		r, err := st.Rollout(ctx, "stable")
		return err == nil && r.State.Release == "2.0" && r.State.Halted
	}
	waitFor(t, 60*time.Second, "2.0 halted", halted)
	atHalt := s.Tried("2.0")
	// Long enough for two stages had it been healthy.
	time.Sleep(2*every + poll)
	r, _ := st.Rollout(ctx, "stable")
	tried := s.Tried("2.0")
	t.Logf("2.0: %d devices had tried it at the halt, %d after 2 stage times; %s", atHalt, tried, r.State.HaltReason)
	if r.State.Stage != 0 || tried > n*10/100 || tried < p.MinReports {
		t.Fatalf("2.0 at stage %d, tried by %d devices; want halted at the first stage (10%% = %d devices), after %d reports",
			r.State.Stage, tried, n*10/100, p.MinReports)
	}
	waitFor(t, 10*time.Second, "the devices that took 2.0 roll back", func() bool { return s.Versions()["1.0"] == n })

	w.release(t, "3.0")
	waitFor(t, 90*time.Second, "3.0 reaches every device", func() bool { return s.Versions()["3.0"] == n })
	cancel()
	res := <-done
	if _, ok := res.TimeTo("3.0", 100); !ok || res.ReportsSent == 0 || res.PowerCuts == 0 || res.LinkFaults == 0 {
		t.Fatalf("result: 3.0 at 100%% %v, %d reports, %d power cuts, %d link faults", ok, res.ReportsSent, res.PowerCuts, res.LinkFaults)
	}
	var out strings.Builder
	res.Print(&out)
	t.Log("\n" + out.String())
}
