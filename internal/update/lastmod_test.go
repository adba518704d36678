package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// lastModServer serves sim like a static server that sends Last-Modified
// and no ETag: each new content of a path gets a modification time one
// second later than the one before, an hour in the past (so that the Date
// of a response is well after it). Frozen paths keep their time whatever
// their content (a file replaced by one with an older time). It logs
// "<status> <path>" per request.
type lastModServer struct {
	sim    *originsim.Sim
	mu     sync.Mutex
	next   time.Time
	times  map[string]time.Time
	sums   map[string][32]byte
	frozen map[string]bool
	log    []string
}

func newLastModServer(sim *originsim.Sim) *lastModServer {
	return &lastModServer{sim: sim, next: time.Now().Add(-time.Hour).Truncate(time.Second),
		times: map[string]time.Time{}, sums: map[string][32]byte{}, frozen: map[string]bool{}}
}

func (s *lastModServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	data := s.sim.Get(p)
	s.mu.Lock()
	if sum := sha256.Sum256(data); data != nil && sum != s.sums[p] && (!s.frozen[p] || s.times[p].IsZero()) {
		s.sums[p], s.times[p] = sum, s.next
		s.next = s.next.Add(time.Second)
	}
	mod := s.times[p]
	s.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if data == nil {
		http.NotFound(rec, r)
	} else {
		http.ServeContent(rec, r, "", mod, bytes.NewReader(data))
	}
	s.mu.Lock()
	s.log = append(s.log, http.StatusText(rec.status)+" "+p)
	s.mu.Unlock()
}

// since returns the log entries from n on.
func (s *lastModServer) since(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log[n:]...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// overLastMod makes d fetch from sim through a Last-Modified-only server.
func (d *device) overLastMod(t *testing.T, sim *originsim.Sim) *lastModServer {
	t.Helper()
	s := newLastModServer(sim)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/")
	retry := origin.RetryPolicy{Retries: 1, Initial: time.Millisecond, Max: time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	d.opt.Source = origin.WithRetry(origin.NewHTTP(u, origin.HTTPOptions{}), retry)
	d.opt.Retry = retry
	return s
}

// TestLastModifiedPoll: on a server with Last-Modified and no ETag, a poll
// with nothing new is one request answered 304 with no body; an update
// fetches the new pointer and no key list (the pointer names the held one).
func TestLastModifiedPoll(t *testing.T) {
	t.Parallel()
	sim := originsim.New(t)
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	d := newDevice(t, sim)
	srv := d.overLastMod(t, sim)
	d.mustRun(t)
	n := len(srv.since(0))
	if res := d.mustRun(t); !res.UpToDate {
		t.Fatalf("second run: %s", res)
	}
	if got := srv.since(n); len(got) != 1 || got[0] != "Not Modified "+layout.Channel("stable") {
		t.Fatalf("no-change poll: %v, want one 304 for the pointer", got)
	}
	sim.Publish(originsim.Release{Version: "2.0"}, v2)
	n = len(srv.since(0))
	if res := d.mustRun(t); res.To != "2.0" || res.UpToDate {
		t.Fatalf("update: %s", res)
	}
	got := srv.since(n)
	if got[0] != "OK "+layout.Channel("stable") || strings.Contains(strings.Join(got, ","), "keys/") {
		t.Fatalf("update requests %v: want the new pointer first and no key list", got)
	}
}

// TestLastModifiedFreeze: the cached pointer a 304 confirms is checked for
// expiry; once expired, it is asked for once more without condition, and a
// frozen origin (still serving it) is refused, while an origin whose fresh
// pointer hid behind an unchanged Last-Modified is read.
func TestLastModifiedFreeze(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*originsim.Sim, *device, *lastModServer) {
		sim := originsim.New(t)
		sim.Publish(originsim.Release{Version: "1.0", Expires: sim.Now.Add(7 * 24 * time.Hour)}, v1)
		d := newDevice(t, sim)
		srv := d.overLastMod(t, sim)
		d.mustRun(t)
		d.mustRun(t) // the pointer is now cached with its Last-Modified
		return sim, d, srv
	}
	t.Run("frozen origin", func(t *testing.T) {
		t.Parallel()
		sim, d, srv := setup(t)
		sim.Now = sim.Now.Add(8 * 24 * time.Hour)
		n := len(srv.since(0))
		if _, err := d.run(t); !errors.Is(err, ErrFrozen) {
			t.Fatalf("err = %v, want ErrFrozen", err)
		}
		ptr := layout.Channel("stable")
		if got := srv.since(n); len(got) != 2 || got[0] != "Not Modified "+ptr || got[1] != "OK "+ptr {
			t.Fatalf("requests %v: want a 304 then one unconditional fetch of the pointer", got)
		}
		if !sameTree(d.files(t), v1) {
			t.Fatalf("target changed: %v", d.files(t))
		}
	})
	t.Run("refreshed pointer behind an unchanged Last-Modified", func(t *testing.T) {
		t.Parallel()
		sim, d, srv := setup(t)
		srv.mu.Lock()
		srv.frozen[layout.Channel("stable")] = true
		srv.mu.Unlock()
		sim.Now = sim.Now.Add(8 * 24 * time.Hour)
		sim.Publish(originsim.Release{Version: "2.0", Expires: sim.Now.Add(7 * 24 * time.Hour)}, v2)
		res, err := Run(context.Background(), d.opt)
		if err != nil || res.To != "2.0" {
			t.Fatalf("update: %v, %v", res, err)
		}
	})
}
