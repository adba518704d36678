package device

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/fleet/decider"
	"github.com/ferry-ota/ferry/internal/fleet/fleettest"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/github"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/update"
)

// ghFleet is a publisher on a fake GitHub, a fleet service deciding the
// stable channel's staged rollout there (`ferry fleet serve --github`), and
// its store of reports.
type ghFleet struct {
	srv               *fakegh.Server
	gh                *github.Client
	dec               *decider.Decider
	st                *store.Store
	ring              *keys.Ring
	keyDir, originDir string
	src               string
	now               time.Time
	n                 int
}

func newGHFleet(t *testing.T, dir string) *ghFleet {
	t.Helper()
	f := &ghFleet{now: time.Now().UTC().Truncate(time.Second), keyDir: filepath.Join(dir, "keys"),
		originDir: filepath.Join(dir, "origin"), src: filepath.Join(dir, "src")}
	exp := f.now.Add(keys.DefaultBundleLifetime)
	if err := keys.Generate(f.keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddRollout(f.keyDir, "stable", keys.RotateOptions{Expires: exp}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(f.keyDir, f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.ring = ring
	f.srv = fakegh.New(t, "acme", "app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	if f.gh, err = github.New(config.GitHub{Owner: "acme", Repo: "app", APIURL: f.srv.URL}, github.Options{}); err != nil {
		t.Fatal(err)
	}
	if f.st, err = store.Open(t.Context(), filepath.Join(dir, "fleet.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	p := rollout.Policy{Stages: []int{10, 50, 100}, Every: time.Hour, HaltBP: 2000, MinReports: 5}
	if _, err := f.st.StartRollout(t.Context(), "stable", p, "", f.now); err != nil {
		t.Fatal(err)
	}
	f.dec = decider.New(decider.Config{Store: f.st, Target: decider.NewGitHub(f.gh), Keys: f.keyDir, Now: func() time.Time { return f.now }})
	return f
}

// release publishes version (governed: its pointer says rollout-doc 1) and
// uploads it as GitHub release v<version>, as `ferry release --github` does.
func (f *ghFleet) release(t *testing.T, version string, governed bool) {
	t.Helper()
	ctx := t.Context()
	if err := os.MkdirAll(f.src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.src, "main.py"), []byte("print("+version+")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Release(ctx, publish.Dir{Root: f.src}, publish.Options{Origin: f.originDir, Channel: "stable", Version: version,
		Expires: f.now.Add(24 * time.Hour), Keys: f.ring, Now: f.now}); err != nil {
		t.Fatal(err)
	}
	if governed {
		if _, err := publish.StagedRollout(ctx, f.originDir, "stable", 0, f.ring, 0, f.now); err != nil {
			t.Fatal(err)
		}
	}
	assets, err := github.ReleaseAssets(f.originDir, "stable")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.gh.UploadRelease(ctx, "acme", "app", "v"+version, assets); err != nil {
		t.Fatal(err)
	}
}

// decide steps the decider and returns the rollout document it left on
// GitHub release tag (nil: none).
func (f *ghFleet) decide(t *testing.T, tag string) *manifest.RolloutDoc {
	t.Helper()
	if err := f.dec.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, ok := f.srv.Asset(tag, "rollouts_stable.note")
	if !ok {
		return nil
	}
	text, err := f.ring.Roots.OpenKeyList(f.ring.List, f.now)
	if err != nil {
		t.Fatal(err)
	}
	body, err := text.Verifiers("rollout:stable").Open(data)
	if err != nil {
		t.Fatalf("the document on %s does not verify with the rollout role: %v", tag, err)
	}
	d, err := manifest.ParseRolloutDoc(body)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// reports stores n reports of devices that tried version with outcome.
func (f *ghFleet) reports(t *testing.T, version, outcome string, n int) {
	t.Helper()
	f.n = fleettest.Tried(t, f.st, f.now, version, outcome, f.n, n)
}

// TestGitHubFleetRollout: the fleet service governs a channel served from
// GitHub release assets. Its documents go to the latest release; a device
// of the GitHub stable channel waits at a stage that excludes it, takes the
// release when the stage widens, polls with at most two requests when
// nothing changed, and refuses a halted release it would otherwise take.
func TestGitHubFleetRollout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	f := newGHFleet(t, dir)
	f.release(t, "1.0", false)
	toml := fmt.Sprintf("target = %q\nstate = %q\nroot_keys = [%q]\n[github]\nowner = \"acme\"\nrepo = \"app\"\napi_url = %q\n",
		filepath.Join(dir, "app"), filepath.Join(dir, "state"), filepath.Join(f.keyDir, "root.pub"), f.srv.URL)
	_, opt := openDevice(t, toml, dir)
	need := 50 // the device's place in the rollout: it takes a release at 50% or more
	opt.Admit = func(p *manifest.Pointer) (bool, string) {
		if p.Rollout < need {
			return false, fmt.Sprintf("outside the rollout at %d%%", p.Rollout)
		}
		return true, ""
	}
	run := func(wantTo, wantDeferred string) {
		t.Helper()
		res, err := update.Run(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		if res.To != wantTo || !strings.Contains(res.Deferred, wantDeferred) || (wantDeferred == "") != (res.Deferred == "") {
			t.Fatalf("result %s; want to %s, deferred %q", res, wantTo, wantDeferred)
		}
	}
	run("1.0", "")
	if d := f.decide(t, "v1.0"); d != nil {
		t.Fatalf("an ungoverned release got a document: %+v", d)
	}

	f.release(t, "2.0", true)
	run("2.0", "no rollout document rollouts/stable.note") // before the service wrote one
	if d := f.decide(t, "v2.0"); d == nil || d.Version != "2.0" || d.Percent != 10 || d.Halted {
		t.Fatalf("first document on v2.0: %+v", d)
	}
	run("2.0", "outside the rollout at 10%")
	for i, want304 := range []int{0, 1} { // the listing changed with the upload, then not
		f.srv.ResetStats()
		if d := f.decide(t, "v2.0"); d.Percent != 10 {
			t.Fatalf("a step with nothing new: %+v", d)
		}
		if s := f.srv.Stats(); s.Requests != 1 || s.NotModified != want304 {
			t.Errorf("decider step %d with nothing new: %d requests, %d of them 304 (%v), want 1 listing and %d 304",
				i+1, s.Requests, s.NotModified, s.ByRoute, want304)
		}
	}
	f.reports(t, "2.0", report.Updated, 5)
	f.now = f.now.Add(time.Hour)
	if d := f.decide(t, "v2.0"); d.Percent != 50 {
		t.Fatalf("after --every: %+v", d)
	}
	run("2.0", "") // the widened stage reaches the device: it updates
	if got, _ := os.ReadFile(filepath.Join(dir, "app", "main.py")); string(got) != "print(2.0)\n" {
		t.Fatalf("main.py = %q after 2.0", got)
	}

	// A governed device's poll with nothing new.
	f.srv.ResetStats()
	res, err := update.Run(ctx, opt)
	if err != nil || !res.UpToDate {
		t.Fatalf("no-change poll: %s, %v", res, err)
	}
	s := f.srv.Stats()
	t.Logf("no-change poll of a governed device: %d requests, %d answered 304: %v", s.Requests, s.NotModified, s.ByRoute)
	if s.Requests > 2 {
		t.Errorf("a no-change poll of a governed device cost %d requests (%v), want at most 2", s.Requests, s.ByRoute)
	}

	f.release(t, "2.1", true)
	if d := f.decide(t, "v2.1"); d == nil || d.Version != "2.1" || d.Percent != 10 || d.Halted {
		t.Fatalf("first document on v2.1: %+v", d)
	}
	f.reports(t, "2.1", report.Updated, 3)
	f.reports(t, "2.1", report.RolledBack, 2)
	if d := f.decide(t, "v2.1"); !d.Halted {
		t.Fatalf("2 of 5 failed, over 20%%: %+v", d)
	}
	need = 0 // the device would take 2.1 at any stage: only the halt stops it
	run("2.1", "halted by the fleet")
	if got, _ := os.ReadFile(filepath.Join(dir, "app", "main.py")); string(got) != "print(2.0)\n" {
		t.Fatalf("main.py = %q: the halted release was installed", got)
	}
}
