package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/device"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/google/go-cmp/cmp"
)

func good(v string) originsim.Tree { return originsim.Tree{"status": "healthy\n", "version": v + "\n"} }
func bad(v string) originsim.Tree  { return originsim.Tree{"status": "sick\n", "version": v + "\n"} }

// rig is a device in t.TempDir updating from an originsim origin.
type rig struct {
	dir, target, state string
	sim                *originsim.Sim
	cfg                *config.Config
}

func newRig(t *testing.T, extra string) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{dir: dir, target: filepath.Join(dir, "app"), state: filepath.Join(dir, "state"), sim: originsim.New(t)}
	if err := os.WriteFile(filepath.Join(dir, "root.pub"), r.sim.RootPub(), 0o644); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf(`origin = "origin"
target = "app"
state = "state"
root_keys = ["root.pub"]
health_command = 'grep -qx healthy "$FERRY_TARGET/status"'
restart_command = 'echo "$FERRY_VERSION" >> %s/restarts'
health_timeout_sec = 1
device_id = "test-device"
%s`, dir, extra)
	cfg, err := config.Parse([]byte(toml), dir)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	return r
}

func (r *rig) agent(t *testing.T, o Options) *Agent {
	t.Helper()
	dev, err := device.New(r.cfg, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(dev, o)
	if err != nil {
		t.Fatal(err)
	}
	a.opt.Source = r.sim
	a.opt.Now = func() time.Time { return r.sim.Now }
	return a
}

func (r *rig) read(t *testing.T, name string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(r.dir, name))
	return string(b)
}

func installed(t *testing.T, a *Agent) *install.Record {
	t.Helper()
	rec, err := a.in.Installed()
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestHealthGatedUpdate is the end-to-end story: a release whose health
// check fails is rolled back and not retried; the next good one is installed.
func TestHealthGatedUpdate(t *testing.T) {
	t.Parallel()
	r := newRig(t, "")
	a := r.agent(t, Options{})
	ctx := context.Background()
	steps := []struct {
		publish  string
		tree     originsim.Tree
		wantErr  error
		wantRes  string // substring of the result line
		wantHave string
	}{
		{"1.0", good("1.0"), nil, "updated (none) -> 1.0", "1.0"},
		{"2.0", bad("2.0"), ErrUnhealthy, "", "1.0"},
		{"", nil, nil, "deferred 2.0 (release 2.0 failed its health check", "1.0"},
		{"3.0", good("3.0"), nil, "updated 1.0 -> 3.0", "3.0"},
	}
	for i, s := range steps {
		if s.publish != "" {
			r.sim.Publish(originsim.Release{Version: s.publish}, s.tree)
		}
		res, err := a.Update(ctx)
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("step %d: Update error %v, want %v", i, err, s.wantErr)
		}
		if s.wantRes != "" && (res == nil || !strings.Contains(res.String(), s.wantRes)) {
			t.Errorf("step %d: result %v, want %q", i, res, s.wantRes)
		}
		rec := installed(t, a)
		if rec.Version != s.wantHave || rec.Trial || r.read(t, "app/version") != s.wantHave+"\n" {
			t.Errorf("step %d: installed %s (trial %v), target version %q; want %s confirmed",
				i, rec.Version, rec.Trial, r.read(t, "app/version"), s.wantHave)
		}
	}
	if got := r.read(t, "restarts"); got != "1.0\n2.0\n1.0\n3.0\n" {
		t.Errorf("restarts %q: want each install and the rollback to restart the app", got)
	}
	failed, err := FailedReleases(r.state)
	if err != nil || len(failed) != 1 || failed[0].Version != "2.0" || !strings.Contains(failed[0].Reason, "health_command") {
		t.Errorf("failed releases %+v, %v; want 2.0 with the health reason", failed, err)
	}
	s := a.History().Summary()
	want := map[string]int{healthlog.KindUpdate: 2, healthlog.KindRollback: 1, healthlog.KindDeferral: 1}
	if diff := cmp.Diff(want, s.Counts); diff != "" {
		t.Errorf("health log counts (-want +got):\n%s", diff)
	}
	if s.LastRollback == nil || !strings.Contains(s.LastRollback.Message, "rolled back 2.0 -> 1.0") {
		t.Errorf("last rollback %+v", s.LastRollback)
	}
	var out strings.Builder
	if err := WriteStatus(&out, r.cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "last check") {
		t.Errorf("status prints \"last check\", which ferry-agent status already prints from the poll record:\n%s", out.String())
	}
	for _, want := range []string{"last update:   ", "  3.0  healthy", "last rollback: ", "rolled back 2.0 -> 1.0",
		"history:       1 deferral, 1 rollback, 2 update", "failed:        2.0 at ", "last error:    never"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	bucket := canary.Bucket("test-device", "1.0")
	if bucket == 0 {
		t.Fatal("pick another device id: bucket 0 cannot be excluded")
	}
	tests := []struct {
		name     string
		extra    string
		rollout  int
		wantRes  string
		wantHave bool
	}{
		{"outside the canary bucket", "", bucket, fmt.Sprintf("staged rollout at %d%%: this device's bucket is %d", bucket, bucket), false},
		{"inside the canary bucket", "", bucket + 1, "updated (none) -> 1.0", true},
		{"pre_install fails", "pre_install = 'echo no space; exit 1'", 100, "pre_install failed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.extra)
			a := r.agent(t, Options{})
			r.sim.Publish(originsim.Release{Version: "1.0", Rollout: tt.rollout}, good("1.0"))
			res, err := a.Update(context.Background())
			if err != nil || !strings.Contains(res.String(), tt.wantRes) {
				t.Fatalf("Update = %v, %v; want %q", res, err, tt.wantRes)
			}
			if got := installed(t, a) != nil; got != tt.wantHave {
				t.Errorf("installed = %v, want %v", got, tt.wantHave)
			}
		})
	}
}

// TestTrialSurvivesRestarts leaves a release on trial as a crash would, then
// starts the agent again.
func TestTrialSurvivesRestarts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		priorStarts int // starts that crashed during the gate
		wantErr     error
		wantHave    string
	}{
		{"gate runs again and confirms", 0, nil, "2.0"},
		{"crash loop rolls back", 3, ErrUnhealthy, "1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, "max_trial_boots = 3")
			a := r.agent(t, Options{})
			ctx := context.Background()
			r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))
			if _, err := a.Update(ctx); err != nil {
				t.Fatal(err)
			}
			r.sim.Publish(originsim.Release{Version: "2.0"}, good("2.0"))
			opt := a.opt
			opt.Trial = true
			if _, err := a.cycle(ctx, opt); err != nil { // installed, then "power cut" before the gate
				t.Fatal(err)
			}
			for range tt.priorStarts {
				if _, err := a.countTrialBoot(installed(t, a)); err != nil {
					t.Fatal(err)
				}
			}
			b := r.agent(t, Options{}) // the next start
			if err := b.ResumeTrial(ctx); !errors.Is(err, tt.wantErr) {
				t.Fatalf("ResumeTrial = %v, want %v", err, tt.wantErr)
			}
			rec := installed(t, b)
			if rec.Version != tt.wantHave || rec.Trial {
				t.Errorf("installed %s trial %v, want %s confirmed", rec.Version, rec.Trial, tt.wantHave)
			}
			if _, err := os.Stat(filepath.Join(r.state, TrialBootsFile)); err == nil {
				t.Error("trial boot counter left behind")
			}
		})
	}
}

func TestResumeWithoutTrialIsNoop(t *testing.T) {
	t.Parallel()
	r := newRig(t, "")
	a := r.agent(t, Options{Clock: clock.NewFake(r.sim.Now)})
	if err := a.ResumeTrial(context.Background()); err != nil {
		t.Fatal(err)
	}
	if installed(t, a) != nil || r.read(t, "restarts") != "" {
		t.Error("ResumeTrial on a fresh device did something")
	}
}
