package agent

import (
	"context"
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
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/ferry-ota/ferry/internal/update"
)

const agentToken = "ferry-fleet-agent-test"

func reportConfig(url string) string {
	return `report_url = "` + url + `"` + "\nenroll_token = \"" + agentToken + "\"\n"
}

// fleetService is a real fleet service that down switches to 503s.
func fleetService(t *testing.T) (*store.Store, string, *atomic.Bool) {
	t.Helper()
	st := fleettest.Store(t)
	down := new(atomic.Bool)
	return st, fleettest.Serve(t, st, agentToken, fleettest.Down(down.Load)), down
}

// TestReports: every cycle of Update is reported, with its outcome; a
// service that is down fails no update, and the queued reports arrive later.
func TestReports(t *testing.T) {
	t.Parallel()
	st, url, down := fleetService(t)
	r := newRig(t, reportConfig(url))
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

// TestCrashLoopReported: a release rolled back at start, after crash-
// looping on trial, is reported like a cycle's rollback.
func TestCrashLoopReported(t *testing.T) {
	t.Parallel()
	st, url, _ := fleetService(t)
	r := newRig(t, "max_trial_boots = 1\n"+reportConfig(url))
	a := r.agent(t, Options{})
	ctx := context.Background()
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
	if _, err := a.Update(ctx); err != nil {
		t.Fatal(err)
	}
	r.sim.Publish(originsim.Release{Version: "2.0"}, good("2.0"))
	opt := a.opt
	opt.Trial = true
	if _, err := a.cycle(ctx, opt); err != nil { // installed, then a crash before the gate
		t.Fatal(err)
	}
	if _, err := a.countTrialBoot(installed(t, a)); err != nil {
		t.Fatal(err)
	}
	if err := r.agent(t, Options{}).ResumeTrial(ctx); !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("ResumeTrial = %v, want ErrUnhealthy", err)
	}
	hist, err := st.History(ctx, "test-device", 10)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history = %+v, %v: want the update and the rollback", hist, err)
	}
	if e := hist[0]; e.Outcome != report.RolledBack || e.Target != "2.0" || e.Version != "1.0" || !strings.Contains(e.Reason, "starts on trial") {
		t.Errorf("crash-loop report: %+v", e)
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

// TestReportNamesChosenLink: a cycle over a [[transport]] link reports that
// link's name, not the default route's interface.
func TestReportNamesChosenLink(t *testing.T) {
	t.Parallel()
	r := newRig(t, reportConfig("http://127.0.0.1:1/"))
	a := r.agent(t, Options{})
	got := a.cycleReport(context.Background(), time.Now(), &update.Result{To: "2.0", Link: "cellular"}, nil)
	if got.Link != "cellular" {
		t.Errorf("report link = %q, want the chosen link %q", got.Link, "cellular")
	}
}
