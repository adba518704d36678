package e2e

// The board's fleet reports (issue #16) against the real fleet service
// (internal/fleet/server with a SQLite store): `micropython/run DIR update`
// with report_url pointing at it sends one report per cycle, which the
// service verifies and stores; through an outage the reports wait in the
// board's queue and are stored once each when the service is back, however
// often they are sent.

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/fleettest"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/mpyrun"
)

// fleetService is the fleet service behind a switch that can cut the link.
type fleetService struct {
	store *store.Store
	url   string // the reports URL (report_url)
	mode  atomic.Int32
	posts atomic.Int32 // POSTs that reached the service
}

const (
	serviceUp         = iota
	serviceDown       // the connection is closed without an answer
	serviceLoseAnswer // the report is stored, then the answer is lost
)

func startFleet(t *testing.T, token string) *fleetService {
	t.Helper()
	f := &fleetService{store: fleettest.Store(t)}
	f.url = fleettest.Serve(t, f.store, token, func(w http.ResponseWriter, r *http.Request, svc http.Handler) {
		switch f.mode.Load() {
		case serviceDown:
			hangUp(t, w)
			return
		case serviceLoseAnswer:
			f.posts.Add(1)
			svc.ServeHTTP(httptest.NewRecorder(), r)
			hangUp(t, w)
			return
		}
		f.posts.Add(1)
		svc.ServeHTTP(w, r)
	})
	return f
}

func hangUp(t *testing.T, w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	c.Close()
}

// reports returns the device's stored reports, oldest first.
func (f *fleetService) reports(t *testing.T, device string) []store.Entry {
	t.Helper()
	es, err := f.store.History(t.Context(), device, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// queued lists the board's queued report files.
func (b *board) queued() []string {
	b.t.Helper()
	names, _ := filepath.Glob(filepath.Join(b.dir, ".ferry", "reports", "0*.json"))
	return names
}

func TestMicroPythonFleetReports(t *testing.T) {
	t.Parallel()
	const token, dev = "fleet-e2e-token", "pico-7"
	f := startFleet(t, token)
	w := newWorld(t)
	b := newBoard(t, w, map[string]any{"report_url": f.url, "enroll_token": token, "device_id": dev})
	want := func(n int, version, outcome string) {
		t.Helper()
		rs := f.reports(t, dev)
		if len(rs) != n {
			t.Fatalf("the service stored %d reports of %s, want %d (one per cycle)", len(rs), dev, n)
		}
		last := rs[n-1]
		if last.Version != version || last.Outcome != outcome {
			t.Fatalf("last report: version %q outcome %q, want %q %q", last.Version, last.Outcome, version, outcome)
		}
		for i := 1; i < n; i++ {
			if rs[i].Number != rs[i-1].Number+1 {
				t.Errorf("report numbers %d then %d: want one more each cycle", rs[i-1].Number, rs[i].Number)
			}
		}
	}

	w.release("1.0", v1, forBoth...)
	b.updated("(none)", "1.0", len(v1)) // an update, then `confirm` (no cycle, no report)
	want(1, "1.0", "updated")
	if r := f.reports(t, dev)[0]; r.Bytes <= 0 || r.Channel != "stable" || r.Sequence != 1 || r.Target != "1.0" {
		t.Errorf("first report: %+v", r)
	}
	pub, err := os.ReadFile(filepath.Join(b.dir, ".ferry", "fleet.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := f.store.Device(t.Context(), dev); err != nil || !strings.Contains(string(pub), base64.StdEncoding.EncodeToString(d.PublicKey)) {
		t.Errorf("device %s enrolled with key %v (%v), fleet.pub holds %q", dev, d, err, pub)
	}
	b.mustRun("update")
	want(2, "1.0", "up-to-date")

	// Outage: the link is down for two cycles; the reports wait on the flash.
	f.mode.Store(serviceDown)
	b.mustRun("update")
	w.release("2.0", v2, forBoth...)
	b.updated("1.0", "2.0", 4)
	if q := b.queued(); len(q) != 2 {
		t.Fatalf("after two cycles without the service: %d reports queued, want 2", len(q))
	}
	want(2, "1.0", "up-to-date")
	keepName := filepath.Base(b.queued()[0])
	keep, err := os.ReadFile(b.queued()[0])
	if err != nil {
		t.Fatal(err)
	}

	// The answer is lost after the service stored the reports: the board
	// keeps them and sends them again next cycle; each is stored once.
	f.mode.Store(serviceLoseAnswer)
	b.mustRun("update")
	if q := b.queued(); len(q) != 3 {
		t.Fatalf("answers lost: %d reports queued, want 3 (kept)", len(q))
	}
	want(1+2, "1.0", "up-to-date") // only the first queued one got through before the hang-up
	f.mode.Store(serviceUp)
	b.mustRun("update")
	if q := b.queued(); len(q) != 0 {
		t.Fatalf("service back: %d reports still queued", len(q))
	}
	want(6, "2.0", "up-to-date")
	if rs := f.reports(t, dev); rs[3].Outcome != "updated" || rs[3].Version != "2.0" {
		t.Errorf("the report of the update made during the outage: %+v", rs[3])
	}

	// A report resent (a copy put back into the queue) is stored once.
	before := f.posts.Load()
	if err := os.WriteFile(filepath.Join(b.dir, ".ferry", "reports", keepName), keep, 0o644); err != nil {
		t.Fatal(err)
	}
	b.mustRun("update")
	if got := f.posts.Load() - before; got != 2 {
		t.Errorf("%d posts after a resend, want 2 (the resent report and the new one)", got)
	}
	want(7, "2.0", "up-to-date")
	if q := b.queued(); len(q) != 0 {
		t.Errorf("the resent report stays queued: %v", q)
	}

	// A failed cycle is reported too, with why; the update still fails.
	b.config(map[string]any{"report_url": f.url, "enroll_token": token, "device_id": dev, "origin": w.url + "missing/"})
	if res := b.run("update"); res.Code == 0 {
		t.Fatalf("update from a missing origin: %s", res)
	}
	want(8, "2.0", "failed")
	if r := f.reports(t, dev)[7]; !strings.Contains(r.Reason, "404") && !strings.Contains(r.Reason, "missing") {
		t.Errorf("failed report's reason %q does not say what failed", r.Reason)
	}
}

// boardClockPy sends one report dated by an unset board clock (2000-01-01)
// through the board's real reporter to argv[1]; the service refuses the
// time, the board dates it again by the service's Date and sends it again.
const boardClockPy = `import sys
from ferry import fleet, fs
S = "/.fleet-clock"
fs.remove_tree(S)
snd = fleet.Sender(sys.argv[1], "fleet-e2e-token")
r = fleet.Reporter(S, snd, "pico-clock")
doc = {"time": "2000-01-01T00:00:00Z", "version": "1.0", "sequence": 1, "outcome": "up-to-date", "bytes": 0,
       "duration_ms": 1, "health": {"updates": 0, "rollbacks": 0, "errors": 0, "deferrals": 0}}
print(r.report(doc, 946684800, False))
print("queued", len(fleet.queued(S)))
`

// TestMicroPythonFleetClock: a report dated by a board clock that was never
// set is refused by the real service for its time, dated again by the
// service's clock and stored, not dropped.
func TestMicroPythonFleetClock(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	f := startFleet(t, "fleet-e2e-token")
	py := filepath.Join(t.TempDir(), "clock.py")
	if err := os.WriteFile(py, []byte(boardClockPy), 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.Exec(t, 0, py, f.url)
	if res.Code != 0 || !strings.Contains(res.Stdout, "sent") || !strings.Contains(res.Stdout, "queued 0") {
		t.Fatalf("clock.py: %s", res)
	}
	rs := f.reports(t, "pico-clock")
	if len(rs) != 1 || f.posts.Load() != 2 {
		t.Fatalf("stored %d reports after %d posts, want 1 after 2 (refused, then re-dated)", len(rs), f.posts.Load())
	}
	if age := time.Since(rs[0].Time); age < -time.Minute || age > time.Hour {
		t.Errorf("stored report dated %s, want about now (the service's clock)", rs[0].Time)
	}
}
