package decider

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/fleettest"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

var t0 = time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)

type fixture struct {
	dec    *Decider
	st     *store.Store
	origin string
	roots  *trust.KeyList
	now    time.Time
	n      int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	kdir, origin := filepath.Join(dir, "keys"), filepath.Join(dir, "origin")
	if err := keys.Generate(kdir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: t0.Add(time.Hour * 24 * 365)}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddRollout(kdir, "stable", keys.RotateOptions{Expires: t0.Add(time.Hour * 24 * 365)}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(kdir, t0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ring.Roots.OpenKeyList(ring.List, t0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), filepath.Join(dir, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, origin: origin, roots: l, now: t0}
	f.dec = New(Config{Store: st, Origin: origin, Keys: kdir, Now: func() time.Time { return f.now }})
	p := rollout.Policy{Stages: []int{10, 50, 100}, Every: time.Hour, HaltBP: 2000, MinReports: 5}
	if _, err := st.StartRollout(t.Context(), "stable", p, "", t0); err != nil {
		t.Fatal(err)
	}
	return f
}

// point writes an (unsigned) pointer to version into the origin.
func (f *fixture) point(t *testing.T, version string, governed bool) {
	t.Helper()
	p := &manifest.Pointer{Channel: "stable", Version: version, Sequence: 1, Manifest: sha256.Sum256([]byte(version)), ManifestSize: 100,
		Expires: t0.Add(7 * 24 * time.Hour), Rollout: 10, RolloutDoc: governed}
	text, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(f.origin, "channels", "stable.note")
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.WriteFile(name, append(text, "\n— x AAAA\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// doc steps and returns the document on the origin, verified with the
// rollout role; nil when there is none.
func (f *fixture) doc(t *testing.T) *manifest.RolloutDoc {
	t.Helper()
	if err := f.dec.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(f.origin, filepath.FromSlash(layout.RolloutDoc("stable"))))
	if os.IsNotExist(err) {
		return nil
	}
	for _, role := range []string{trust.RoleRelease, trust.RoleRefresh} {
		if _, err := f.roots.Verifiers(role).Open(data); err == nil {
			t.Fatalf("the document verifies with role %s", role)
		}
	}
	text, err := f.roots.Verifiers(trust.RoleRollout("stable")).Open(data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := manifest.ParseRolloutDoc(text)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// reports adds n reports of devices that tried version with outcome.
func (f *fixture) reports(t *testing.T, version, outcome string, n int) {
	t.Helper()
	f.n = fleettest.Tried(t, f.st, f.now, version, outcome, f.n, n)
}

func TestAdvanceThenDone(t *testing.T) {
	f := setup(t)
	f.point(t, "2.0", false)
	if d := f.doc(t); d != nil {
		t.Fatalf("a pointer without rollout-doc got a document: %+v", d)
	}
	f.point(t, "2.0", true)
	if d := f.doc(t); d == nil || d.Percent != 10 || d.Halted || d.Version != "2.0" || !d.Expires.Equal(t0.Add(DefaultLifetime)) {
		t.Fatalf("first document: %+v", d)
	}
	f.reports(t, "2.0", report.Updated, 5)
	f.now = t0.Add(59 * time.Minute)
	if d := f.doc(t); d.Percent != 10 || !d.Issued.Equal(t0) {
		t.Fatalf("before --every: %+v (want the first document, not re-signed)", d)
	}
	f.now = t0.Add(time.Hour)
	if d := f.doc(t); d.Percent != 50 {
		t.Fatalf("after --every: %+v", d)
	}
	f.now = t0.Add(2 * time.Hour)
	if d := f.doc(t); d.Percent != 100 {
		t.Fatalf("after 2 --every: %+v", d)
	}
	f.now = t0.Add(DefaultLifetime)
	if d := f.doc(t); d.Percent != 100 || !d.Issued.Equal(f.now) {
		t.Fatalf("past half its lifetime, the document is re-signed: %+v", d)
	}
}

func TestHaltThenNextRelease(t *testing.T) {
	f := setup(t)
	f.point(t, "2.0", true)
	f.doc(t)
	f.reports(t, "2.0", report.Updated, 3)
	f.reports(t, "2.0", report.RolledBack, 1)
	if d := f.doc(t); d.Halted {
		t.Fatalf("halted with 4 reports, min 5: %+v", d)
	}
	f.reports(t, "2.0", report.RolledBack, 1)
	d := f.doc(t)
	if !d.Halted || d.Percent != 10 || !strings.Contains(d.Reason, "failure rate 40% reaches 20%") {
		t.Fatalf("after 2 of 5 failed: %+v", d)
	}
	f.now = t0.Add(5 * time.Hour)
	if d := f.doc(t); !d.Halted {
		t.Fatalf("a halt is kept: %+v", d)
	}
	r, err := f.st.Rollout(t.Context(), "stable")
	if err != nil || !r.State.Halted {
		t.Fatalf("stored state: %+v, %v", r, err)
	}
	f.point(t, "2.1", true)
	if d := f.doc(t); d.Halted || d.Version != "2.1" || d.Percent != 10 {
		t.Fatalf("the next release starts over: %+v", d)
	}
}
