package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/server"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// TestReports: every cycle of Update is reported, with its outcome; a
// service that is down fails no update, and the queued reports arrive later.
func TestReports(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := server.New(server.Config{Store: st, Tokens: []string{"ferry-fleet-agent-test"}})
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	defer srv.Close()
	r := newRig(t, `report_url = "`+srv.URL+`/v1/reports"`+"\nenroll_token = \"ferry-fleet-agent-test\"\n")
	a := r.agent(t, Options{})
	ctx := context.Background()
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
	a.Update(ctx)
	r.sim.Publish(originsim.Release{Version: "2.0"}, bad("2.0"))
	a.Update(ctx)
	down.Store(true)
	if _, err := a.Update(ctx); err != nil {
		t.Errorf("Update with the fleet service down: %v (a report never fails an update)", err)
	}
	down.Store(false)
	a.Update(ctx)
	hist, err := st.History(ctx, "test-device", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{report.Updated, report.RolledBack, report.Deferred, report.Deferred}
	if len(hist) != len(want) {
		t.Fatalf("%d reports stored, want %d: %+v", len(hist), len(want), hist)
	}
	first := hist[len(hist)-1].Number
	for i, w := range want {
		e := hist[len(hist)-1-i]
		if e.Number != first+uint64(i) || e.Outcome != w {
			t.Errorf("report %d: number %d outcome %s, want %d %s", i, e.Number, e.Outcome, first+uint64(i), w)
		}
	}
	if e := hist[len(hist)-2]; e.Version != "1.0" || e.Target != "2.0" || !strings.Contains(e.Reason, "failed its health check") {
		t.Errorf("rolled-back report: %+v", e)
	}
	if e := hist[len(hist)-1]; e.Bytes == 0 || e.Version != "1.0" {
		t.Errorf("first report: %+v: want bytes downloaded and version 1.0", e)
	}
}

func TestDefaultLink(t *testing.T) {
	p := filepath.Join(t.TempDir(), "route")
	table := "Iface\tDestination\tGateway\nlo\t0000007F\t00000000\nwwan0\t00000000\t0100A8C0\n"
	if err := writeFile(p, table); err != nil {
		t.Fatal(err)
	}
	if got := defaultLink(p); got != "wwan0" {
		t.Errorf("defaultLink = %q, want wwan0", got)
	}
	if got := defaultLink(filepath.Join(t.TempDir(), "none")); got != "" {
		t.Errorf("defaultLink of a missing table = %q", got)
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
