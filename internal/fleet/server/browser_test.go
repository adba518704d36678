package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the dashboard's screenshot to docs/fleet-dashboard.png")

// chromium finds the browser, or skips (fails in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: .ci/run installs the package chromium")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// fleetOf12 reports 12 devices: 11 took v1.4.1 over the past days; then 7
// took v1.4.2, 2 deferred it, 2 rolled it back; one never installed.
func fleetOf12(t *testing.T, f *fixture) {
	t.Helper()
	send := func(r *report.Report, k byte) {
		f.setNow(r.Time.Add(time.Second))
		if code, text := f.post(t, signed(t, r, devKey(k)), token); code != 201 {
			t.Fatalf("%s: %d %s", r.Device, code, text)
		}
	}
	for i := range 12 {
		id := fmt.Sprintf("pump-%02d", i+1)
		if i < 11 {
			old := rep(id, 1)
			old.Time = now.AddDate(0, 0, -9+i*i/20)
			old.Version, old.Sequence, old.Target, old.Bytes = "v1.4.1", 11, "v1.4.1", 1_204_311
			send(old, byte(i+1))
		}
		r := rep(id, 2)
		r.Time = now.Add(-time.Duration(i*i*7) * time.Minute)
		r.Version, r.Sequence, r.Target, r.Bytes = "v1.4.2", 12, "v1.4.2", 48213
		switch {
		case i == 11:
			r.Version, r.Sequence, r.Outcome, r.Reason = "", 0, report.Failed, "fetch manifest: connection reset by peer"
		case i >= 9:
			r.Version, r.Sequence, r.Outcome, r.Reason = "v1.4.1", 11, report.RolledBack, "health check: exit status 3"
		case i >= 7:
			r.Version, r.Sequence, r.Outcome, r.Reason = "v1.4.1", 11, report.Deferred, "battery at 18%, below min_battery_percent 30"
		}
		send(r, byte(i+1))
	}
	f.setNow(now)
}

// run runs one action that yields a value, failing the test on error.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	f := start(t)
	fleetOf12(t, f)
	err := f.store.SetRollout(t.Context(), &store.Rollout{Channel: "stable", UpdatedAt: now,
		Policy: rollout.Policy{Stages: []int{1, 10, 50, 100}, Every: 6 * time.Hour, HaltBP: 500, MinReports: 20},
		State:  rollout.State{Release: "v1.4.2", Stage: 2, StageSince: now.Add(-2 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("devices"))); err != nil {
		t.Fatal(err)
	}
	rows := run(t, ctx, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("#devices tr.device").length`))
	versions := run(t, ctx, "versions", chromedp.Text(chromedp.ID("versions")))
	failures := run(t, ctx, "failures", chromedp.Text(chromedp.ID("failures")))
	channels := run(t, ctx, "channels", chromedp.Text(chromedp.ID("channels")))
	lines := run(t, ctx, "chart", chromedp.Evaluate[int](`document.querySelectorAll("#adoption polyline").length`))
	legend := run(t, ctx, "legend", chromedp.Text(chromedp.CSS("p.legend")))
	title := run(t, ctx, "title", chromedp.Title())
	png := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if rows != 12 {
		t.Errorf("the page shows %d device rows, want 12", rows)
	}
	if !strings.Contains(versions, "v1.4.2\t7") || !strings.Contains(versions, "v1.4.1\t4") {
		t.Errorf("versions table reads %q: want v1.4.2 on 7 devices, v1.4.1 on 4", versions)
	}
	if !strings.Contains(failures, "health check: exit status 3\t2") {
		t.Errorf("failures table reads %q: want the rollback reason on 2 reports", failures)
	}
	if !strings.Contains(channels, "v1.4.2 at 50% (stage 3 of 4)") {
		t.Errorf("channels table reads %q: want the rollout stage", channels)
	}
	if lines != 2 || !strings.Contains(legend, "v1.4.2: 7 devices") || !strings.Contains(legend, "v1.4.1: 11 devices") {
		t.Errorf("adoption chart: %d lines, legend %q: want v1.4.2 by 7 devices, v1.4.1 by 11", lines, legend)
	}
	if !strings.Contains(title, "Ferry fleet") {
		t.Errorf("title %q", title)
	}
	keepScreenshot(t, png)

	// A person filters the devices, then opens one.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`input[name="q"]`), "rolled"),
		chromedp.Submit(chromedp.CSS(`input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form a[href="/"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if n := run(t, ctx, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("#devices tr.device").length`)); n != 2 {
		t.Errorf("filter \"rolled\" shows %d devices, want 2", n)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#devices tr.device a`)), chromedp.WaitVisible(chromedp.ID("history"))); err != nil {
		t.Fatal(err)
	}
	if h := run(t, ctx, "history", chromedp.Text(chromedp.ID("history"))); !strings.Contains(h, "rolled-back: health check: exit status 3") {
		t.Errorf("device history reads %q", h)
	}
}

func keepScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
		t.Fatalf("screenshot: %d bytes, not a PNG of a page", len(png))
	}
	path := filepath.Join(t.TempDir(), "fleet-dashboard.png")
	if *updateScreenshot {
		path = filepath.Join("..", "..", "..", "docs", "fleet-dashboard.png")
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
