// Package fleettest starts a real fleet service for tests: a SQLite store in
// the test's temporary folder and the service's handler on a 127.0.0.1
// server, and stores reports of devices that tried a release. The tests of
// the agent, the reporter, the decider, the GitHub rollout and the
// MicroPython board use it instead of each setting up their own.
package fleettest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/server"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

// Store opens a fleet store (SQLite) in a temporary folder, closed at the
// end of the test.
func Store(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Front stands before the service: it answers a request itself (a link
// that is down, an answer lost) or passes it to next.
type Front func(w http.ResponseWriter, r *http.Request, next http.Handler)

// Serve starts the service on st, accepting the enrollment token, behind
// front (nil: none), and returns the reports URL (a device's report_url).
func Serve(t testing.TB, st *store.Store, token string, front Front) string {
	t.Helper()
	var h http.Handler = server.New(server.Config{Store: st, Tokens: []string{token}})
	if front != nil {
		svc := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { front(w, r, svc) })
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/reports"
}

// Down is a Front that answers 503 while *down is true.
func Down(down func() bool) Front {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if down() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	}
}

// Tried stores one report each of n devices, d<first+1> to d<first+n>
// (enrolled as they report), that tried version on channel stable with
// outcome, at now; it returns first+n, for the next call.
func Tried(t testing.TB, st *store.Store, now time.Time, version, outcome string, first, n int) int {
	t.Helper()
	for i := first + 1; i <= first+n; i++ {
		id := fmt.Sprintf("d%d", i)
		if err := st.Enroll(t.Context(), id, []byte("k"+id), now); err != nil {
			t.Fatal(err)
		}
		r := &report.Report{Format: 1, Device: id, Number: 1, Time: now, Channel: "stable", Version: version, Sequence: 1, Outcome: outcome, Target: version}
		if _, err := st.AddReport(t.Context(), r, []byte(id), now); err != nil {
			t.Fatal(err)
		}
	}
	return first + n
}
