package install

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// The power-cut proof. For each scenario, every mutating filesystem
// operation of the whole run is counted; then for every k the power is cut
// at operation k, the disk "reboots" keeping only what a real disk may keep
// (three models: nothing unsynced, everything, and a journaled random
// prefix), recovery runs, and the invariant is checked: the target holds
// exactly the old release or exactly the new one, byte for byte and mode for
// mode, and the commit record agrees. Then the power is cut at every
// operation of that recovery too, and the same is checked. Then the update
// is run to the end and must reach the new release. Every point, not a sample.

var crashModes = flag.Int("crash-random-modes", 2, "KeepRandom seeds per crash point (besides DropUnsynced and KeepAll)")

const (
	memTarget = "/dev0/app"
	memState  = "/dev0/app/.ferry"
)

// unmanaged is a file of the device's own that no release names: it must
// survive every crash untouched.
var unmanaged = tree{"data/local.db": "precious\n"}

func memInstaller(fsys vfs.FS) *Installer {
	return &Installer{FS: fsys, Target: memTarget, State: memState, Decode: decodeText}
}

type scenario struct {
	name     string
	old, new tree                      // nil old: nothing installed
	oldVer   string                    // "" when nothing installed
	newVer   string                    //
	setup    func(in *Installer) error // brings the device to the starting point
	run      func(in *Installer) error // the step under test
	finish   func(in *Installer) error // completes the step after recovery
	wantDone string                    // version that finish must reach
}

func TestPowerCutAtEveryOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r1, r2 := release(t, "1.0", 1, v1), release(t, "2.0", 2, v2, true)
	installV1 := func(in *Installer) error { _, err := in.Install(ctx, r1, newFetcher(v1), Options{}); return err }
	installV2 := func(opt Options) func(in *Installer) error {
		return func(in *Installer) error { _, err := in.Install(ctx, r2, newFetcher(v2mode), opt); return err }
	}
	failing := func(in *Installer) error {
		f := newFetcher(v2mode)
		f.fail["conf/a/b.toml"] = true
		_, err := in.Install(ctx, r2, f, Options{})
		return err
	}
	none := func(in *Installer) error { return nil }
	// Rollback and Confirm report ErrNoTrial once done: finishing accepts it,
	// and the check after finishing asserts the version reached.
	rollback := func(in *Installer) error { _, err := in.Rollback(ctx); return ignore(err, ErrNoTrial) }
	confirm := func(in *Installer) error { return ignore(in.Confirm(ctx), ErrNoTrial) }
	for _, sc := range []scenario{
		{name: "fresh install", new: v1, newVer: "1.0", setup: none, run: installV1, finish: installV1, wantDone: "1.0"},
		{name: "update: add, replace, delete, chmod", old: v1, oldVer: "1.0", new: v2mode, newVer: "2.0", setup: installV1, run: installV2(Options{}), finish: installV2(Options{}), wantDone: "2.0"},
		{name: "update whose download fails half-way", old: v1, oldVer: "1.0", new: v2mode, newVer: "2.0", setup: installV1, run: failing, finish: installV2(Options{}), wantDone: "2.0"},
		{name: "update on trial", old: v1, oldVer: "1.0", new: v2mode, newVer: "2.0", setup: installV1, run: installV2(Options{Trial: true}), finish: installV2(Options{Trial: true}), wantDone: "2.0"},
		{name: "rollback of a trial (failed health check)", old: v2mode, oldVer: "2.0", new: v1, newVer: "1.0",
			setup: func(in *Installer) error { return errorsJoin(installV1(in), installV2(Options{Trial: true})(in)) }, run: rollback, finish: rollback, wantDone: "1.0"},
		{name: "confirm of a trial", old: v2mode, oldVer: "2.0", new: v2mode, newVer: "2.0",
			setup: func(in *Installer) error { return errorsJoin(installV1(in), installV2(Options{Trial: true})(in)) }, run: confirm, finish: confirm, wantDone: "2.0"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			points, recPoints := runScenario(t, sc)
			t.Logf("%s: %d crash points in the run x %d crash models, %d crash points inside recovery: all held", sc.name, points, 2+*crashModes, recPoints)
		})
	}
}

// v2mode is v2 as release r2 publishes it: same.txt keeps its content and
// becomes executable (a chmod-only change).
var v2mode = v2

func ignore(err, target error) error {
	if errors.Is(err, target) {
		return nil
	}
	return err
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func runScenario(t *testing.T, sc scenario) (points, recPoints int) {
	t.Helper()
	base := vfs.NewMemFS()
	for p, c := range unmanaged {
		base.WriteFile(memTarget+"/"+p, []byte(c), 0o600)
	}
	base.MkdirAll(memState, 0o755)
	if err := sc.setup(memInstaller(base)); err != nil {
		t.Fatalf("setup: %v", err)
	}
	base.Crash(vfs.KeepAll) // the starting point is durable; counting restarts
	check(t, base, sc, "before the run")

	dry := base.Clone()
	sc.run(memInstaller(dry))
	total := dry.Ops()
	if total == 0 {
		t.Fatal("the run made no filesystem operation")
	}
	modes := []vfs.CrashMode{vfs.DropUnsynced, vfs.KeepAll}
	for k := 1; k <= total; k++ {
		for i, mode := range append(modes, randomModes(k)...) {
			fsys := base.Clone()
			fsys.SetPowerCutAt(k)
			sc.run(memInstaller(fsys))
			fsys.Crash(mode)
			where := fmt.Sprintf("power cut at op %d/%d, %v", k, total, mode)
			if i == 0 || k%4 == 0 { // recovery's own crash points, for a quarter of the points in every model and all strict ones
				recPoints += crashRecovery(t, fsys, sc, where)
			}
			if err := memInstaller(fsys).Recover(context.Background()); err != nil {
				t.Fatalf("%s: recover: %v", where, err)
			}
			check(t, fsys, sc, where+", after recovery")
			if err := sc.finish(memInstaller(fsys)); err != nil {
				t.Fatalf("%s: finishing after recovery: %v", where, err)
			}
			checkVersion(t, fsys, sc, sc.wantDone, where+", after finishing")
			points++
		}
	}
	return total, recPoints
}

func randomModes(k int) []vfs.CrashMode {
	out := make([]vfs.CrashMode, *crashModes)
	for i := range out {
		out[i] = vfs.KeepRandom(uint32(k*31 + i))
	}
	return out
}

// crashRecovery cuts the power at every operation of the recovery of fsys
// (a crashed disk), recovers again, and checks the invariant each time.
func crashRecovery(t *testing.T, crashed *vfs.MemFS, sc scenario, where string) int {
	t.Helper()
	dry := crashed.Clone()
	memInstaller(dry).Recover(context.Background())
	n := dry.Ops()
	for j := 1; j <= n; j++ {
		for _, mode := range []vfs.CrashMode{vfs.DropUnsynced, vfs.KeepAll, vfs.KeepRandom(uint32(j))} {
			fsys := crashed.Clone()
			fsys.SetPowerCutAt(j)
			memInstaller(fsys).Recover(context.Background())
			fsys.Crash(mode)
			w := fmt.Sprintf("%s; power cut in recovery at op %d/%d, %v", where, j, n, mode)
			if err := memInstaller(fsys).Recover(context.Background()); err != nil {
				t.Fatalf("%s: second recovery: %v", w, err)
			}
			check(t, fsys, sc, w)
		}
	}
	return n
}

// check asserts the invariant: exactly the old or the new release, the
// unmanaged file intact, and a commit record that agrees.
func check(t *testing.T, fsys *vfs.MemFS, sc scenario, where string) {
	t.Helper()
	got := fsys.Snapshot(memTarget)
	delete(got, "") // never present; keeps the map a map
	for p := range got {
		if len(p) >= 6 && p[:6] == ".ferry" {
			delete(got, p)
		}
	}
	switch {
	case matches(got, sc.new):
		checkVersion(t, fsys, sc, sc.newVer, where)
	case matches(got, sc.old):
		checkVersion(t, fsys, sc, sc.oldVer, where)
	default:
		t.Fatalf("%s: the target is neither the old nor the new release:\nold: %s\nnew: %s", where,
			diffTrees(withUnmanaged(sc.old), toTree(got)), diffTrees(withUnmanaged(sc.new), toTree(got)))
	}
}

func checkVersion(t *testing.T, fsys *vfs.MemFS, sc scenario, want, where string) {
	t.Helper()
	rec, err := memInstaller(fsys).Installed()
	if err != nil {
		t.Fatalf("%s: read commit record: %v", where, err)
	}
	got := ""
	if rec != nil {
		got = rec.Version
	}
	if got != want {
		t.Fatalf("%s: the target holds %q but the commit record says %q", where, want, got)
	}
	if want != "" {
		want := sc.new
		if rec.Version == sc.oldVer && sc.oldVer != sc.newVer {
			want = sc.old
		}
		if !matches(fsys.Snapshot(memTarget), want) {
			t.Fatalf("%s: commit record says %s, target differs:\n%s", where, rec.Version, diffTrees(withUnmanaged(want), toTree(fsys.Snapshot(memTarget))))
		}
	}
}

func withUnmanaged(r tree) tree {
	out := tree{}
	for p, c := range r {
		out[p] = c
	}
	for p, c := range unmanaged {
		out[p] = c
	}
	return out
}

func toTree(s map[string]vfs.FileState) tree {
	out := tree{}
	for p, f := range s {
		if len(p) >= 6 && p[:6] == ".ferry" {
			continue
		}
		out[p] = fmt.Sprintf("%s[%04o]", f.Data, f.Mode)
	}
	return out
}

// matches reports whether the target snapshot is exactly release r (data
// and mode) plus the unmanaged files (nil r: the unmanaged files alone).
func matches(s map[string]vfs.FileState, r tree) bool {
	want := withUnmanaged(r)
	n := 0
	for p, f := range s {
		if len(p) >= 6 && p[:6] == ".ferry" {
			continue
		}
		n++
		c, ok := want[p]
		if !ok || string(f.Data) != c {
			return false
		}
		mode := modeOf(p)
		if isV2(r) {
			mode = modeOfChmod(p)
		}
		if _, managed := r[p]; !managed {
			mode = 0o600
		}
		if f.Mode != mode {
			return false
		}
	}
	return n == len(want)
}

// isV2 reports whether r is the v2 tree, which r2 publishes with same.txt
// executable.
func isV2(r tree) bool { return r["main.py"] == v2["main.py"] }
