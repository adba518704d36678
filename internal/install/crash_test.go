package install

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"testing"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// The power-cut proof. For each scenario, every mutating filesystem
// operation of the whole run is counted; then for every k the power is cut
// at operation k, the disk "reboots" keeping only what a real disk may keep
// (three models: nothing unsynced, everything, and a journaled random
// prefix), recovery runs, and the invariant is checked: the target holds
// exactly the old release or exactly the new one, byte for byte and mode for
// mode, folder for folder, and the commit record (version, trial and the
// release a trial rolls back to) agrees. Then the power is cut at every
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

// state is one state the device may be in: the files of a release and the
// folders they need (plus any in dirs: the folders a trial keeps, or a mode
// changed on the device), and the commit record.
type state struct {
	files    tree
	chmod    bool                   // same.txt is executable (release r2)
	dirs     map[string]fs.FileMode // folders beyond the files' parents, or with another mode
	version  string                 // "" when nothing is installed
	trial    bool
	previous string // the release a trial rolls back to
	// bare: no unmanaged files (a fresh slots device: no target at all).
	bare bool
	// prevFiles (slots layout): what the previous slot holds while the
	// record names a previous release.
	prevFiles tree
	// inplace (slots scenarios): the target is a folder, as before a change
	// of layout to slots or after one back.
	inplace   bool
	prevChmod bool // the previous release is r2 (same.txt executable)
	prevDirs  map[string]fs.FileMode
}

// layout is the state's target as scan renders it, with the unmanaged files.
func (s state) layout() tree {
	mode := modeOf
	if s.chmod {
		mode = modeOfChmod
	}
	extra := unmanagedFiles(unmanaged)
	if s.bare {
		extra = tree{}
	}
	for d, m := range s.dirs {
		extra[d] = folder(m)
	}
	return layoutOf(s.files, mode, extra)
}

func (s state) record() string {
	if s.version == "" {
		return "nothing installed"
	}
	return fmt.Sprintf("version %s, trial %v, previous %q", s.version, s.trial, s.previous)
}

func recordString(rec *Record) string {
	if rec == nil {
		return "nothing installed"
	}
	prev := ""
	if rec.Previous != nil {
		prev = rec.Previous.Version
	}
	return fmt.Sprintf("version %s, trial %v, previous %q", rec.Version, rec.Trial, prev)
}

type scenario struct {
	name     string
	old, new state                     // before and after the step under test
	setup    func(in *Installer) error // brings the device to old
	run      func(in *Installer) error // the step under test
	runFails bool                      // run returns an error and leaves old
	finish   func(in *Installer) error // completes the step after recovery: reaches new
	slots    bool                      // the slots layout (slotsInstaller)
	// diskLayout (with slots): the installer's layout is the one the disk
	// has, or the one a change of layout in flight goes to (a config that
	// follows the device, as the operator keeps it).
	diskLayout bool
	// also are states the device may be left in besides old and new (the
	// slots layout: the old release without its previous one, while the
	// slot that held it is rebuilt).
	also []state
}

// installer returns the scenario's installer on fsys.
func (sc scenario) installer(fsys vfs.FS) *Installer {
	if sc.slots && sc.diskLayout {
		return followingInstaller(fsys)
	}
	if sc.slots {
		return slotsInstaller(fsys)
	}
	return memInstaller(fsys)
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
	trialV2 := func(in *Installer) error { return errorsJoin(installV1(in), installV2(Options{Trial: true})(in)) }
	// Rollback and Confirm report ErrNoTrial once done: finishing accepts it,
	// and the check after finishing asserts the state reached.
	rollback := func(in *Installer) error { _, err := in.Rollback(ctx); return ignore(err, ErrNoTrial) }
	confirm := func(in *Installer) error { return ignore(in.Confirm(ctx), ErrNoTrial) }
	s0 := state{}
	s1 := state{files: v1, version: "1.0"}
	s2 := state{files: v2mode, chmod: true, version: "2.0"}
	s2trial := state{files: v2mode, chmod: true, dirs: map[string]fs.FileMode{"lib/old": 0o755}, version: "2.0", trial: true, previous: "1.0"}
	scenarios := []scenario{
		{name: "fresh install", old: s0, new: s1, setup: none, run: installV1, finish: installV1},
		{name: "update: add, replace, delete, chmod", old: s1, new: s2, setup: installV1, run: installV2(Options{}), finish: installV2(Options{})},
		{name: "update whose download fails half-way", old: s1, new: s2, setup: installV1, run: failing, runFails: true, finish: installV2(Options{})},
		{name: "update on trial", old: s1, new: s2trial, setup: installV1, run: installV2(Options{Trial: true}), finish: installV2(Options{Trial: true})},
		{name: "rollback of a trial (failed health check)", old: s2trial, new: s1, setup: trialV2, run: rollback, finish: rollback},
		{name: "confirm of a trial", old: s2trial, new: s2, setup: trialV2, run: confirm, finish: confirm},
	}
	scenarios = append(scenarios, transitionScenarios(t)...)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			points, recPoints := runScenario(t, sc)
			t.Logf("%s: %d crash points in the run x %d crash models, %d crash points inside recovery: all held", sc.name, points, 2+*crashModes, recPoints)
		})
	}
}

// Trees whose path conf changes between file and folder.
var (
	confFile   = tree{"main.py": "print(1)\n", "conf": "k = 1\n"}
	confFolder = tree{"main.py": "print(1)\n", "conf/main": "k = 2\n", "conf/sub/deep.toml": "d = 1\n"}
)

// transitionScenarios install and roll back (from a trial) releases in which
// conf turns from a file into a folder and back. The folder the device had
// was made private (0700) and holds an empty folder (0750): a rollback must
// bring both back with their modes.
func transitionScenarios(t *testing.T) []scenario {
	ctx := context.Background()
	install := func(version string, seq uint64, files tree, opt Options) func(in *Installer) error {
		rel := release(t, version, seq, files)
		return func(in *Installer) error {
			_, err := in.Install(ctx, rel, newFetcher(confFile, confFolder), opt)
			return err
		}
	}
	private := func(in *Installer) error { // and an empty folder of the device's own in it
		dir := memTarget + "/conf"
		return errorsJoin(in.FS.Chmod(dir, 0o700), in.FS.Mkdir(dir+"/empty", 0o750), in.FS.SyncDir(dir+"/empty"), in.FS.SyncDir(dir))
	}
	then := func(steps ...func(in *Installer) error) func(in *Installer) error {
		return func(in *Installer) error {
			for _, s := range steps {
				if err := s(in); err != nil {
					return err
				}
			}
			return nil
		}
	}
	rollback := func(in *Installer) error { _, err := in.Rollback(ctx); return ignore(err, ErrNoTrial) }
	file1 := state{files: confFile, version: "1.0"}
	folder1 := state{files: confFolder, dirs: map[string]fs.FileMode{"conf": 0o700, "conf/empty": 0o750}, version: "1.0"}
	toFolder, toFolderTrial := install("2.0", 2, confFolder, Options{}), install("2.0", 2, confFolder, Options{Trial: true})
	toFile, toFileTrial := install("2.0", 2, confFile, Options{}), install("2.0", 2, confFile, Options{Trial: true})
	return []scenario{
		{name: "a file becomes a folder", old: file1, new: state{files: confFolder, version: "2.0"},
			setup: install("1.0", 1, confFile, Options{}), run: toFolder, finish: toFolder},
		{name: "a file becomes a folder: rollback of the trial", old: state{files: confFolder, version: "2.0", trial: true, previous: "1.0"}, new: file1,
			setup: then(install("1.0", 1, confFile, Options{}), toFolderTrial), run: rollback, finish: rollback},
		{name: "a folder becomes a file", old: folder1, new: state{files: confFile, version: "2.0"},
			setup: then(install("1.0", 1, confFolder, Options{}), private), run: toFile, finish: toFile},
		{name: "a folder becomes a file: rollback of the trial", old: state{files: confFile, version: "2.0", trial: true, previous: "1.0"}, new: folder1,
			setup: then(install("1.0", 1, confFolder, Options{}), private, toFileTrial), run: rollback, finish: rollback},
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
	if sc.slots {
		base.MkdirAll(slotsState, 0o755)
	} else {
		for p, c := range unmanaged {
			base.WriteFile(memTarget+"/"+p, []byte(c), 0o600)
		}
		base.MkdirAll(memState, 0o755)
	}
	if err := sc.setup(sc.installer(base)); err != nil {
		t.Fatalf("setup: %v", err)
	}
	base.Crash(vfs.KeepAll) // the starting point is durable; counting restarts
	checkState(t, base, sc, sc.old, "before the run")

	dry := base.Clone()
	err := sc.run(sc.installer(dry))
	if (err != nil) != sc.runFails {
		t.Fatalf("the run without a power cut: error %v, want an error: %v", err, sc.runFails)
	}
	total := dry.Ops()
	if total == 0 {
		t.Fatal("the run made no filesystem operation")
	}
	// What the run returned with is durable: cut the power right after.
	dry.Crash(vfs.DropUnsynced)
	if sc.runFails {
		checkState(t, dry, sc, sc.old, "power cut right after the failed run returned")
	} else {
		checkState(t, dry, sc, sc.new, "power cut right after the run returned")
	}
	modes := []vfs.CrashMode{vfs.DropUnsynced, vfs.KeepAll}
	for k := 1; k <= total; k++ {
		for i, mode := range append(modes, randomModes(k)...) {
			fsys := base.Clone()
			fsys.SetPowerCutAt(k)
			sc.run(sc.installer(fsys))
			if !fsys.PoweredOff() {
				t.Fatalf("power cut at op %d/%d: the run ended without reaching it", k, total)
			}
			fsys.Crash(mode)
			where := fmt.Sprintf("power cut at op %d/%d, %v", k, total, mode)
			if i == 0 || k%4 == 0 { // recovery's own crash points, for a quarter of the points in every model and all strict ones
				recPoints += crashRecovery(t, fsys, sc, where)
			}
			if err := sc.installer(fsys).Recover(context.Background()); err != nil {
				t.Fatalf("%s: recover: %v", where, err)
			}
			check(t, fsys, sc, where+", after recovery")
			if err := sc.finish(sc.installer(fsys)); err != nil {
				t.Fatalf("%s: finishing after recovery: %v", where, err)
			}
			checkState(t, fsys, sc, sc.new, where+", after finishing")
			fsys.Crash(vfs.DropUnsynced)
			checkState(t, fsys, sc, sc.new, where+", power cut right after finishing")
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
	if err := sc.installer(dry).Recover(context.Background()); err != nil {
		t.Fatalf("%s: recover: %v", where, err)
	}
	n := dry.Ops()
	for j := 1; j <= n; j++ {
		for _, mode := range []vfs.CrashMode{vfs.DropUnsynced, vfs.KeepAll, vfs.KeepRandom(uint32(j))} {
			fsys := crashed.Clone()
			fsys.SetPowerCutAt(j)
			sc.installer(fsys).Recover(context.Background())
			if !fsys.PoweredOff() {
				t.Fatalf("%s; power cut in recovery at op %d/%d: recovery ended without reaching it", where, j, n)
			}
			fsys.Crash(mode)
			w := fmt.Sprintf("%s; power cut in recovery at op %d/%d, %v", where, j, n, mode)
			if err := sc.installer(fsys).Recover(context.Background()); err != nil {
				t.Fatalf("%s: second recovery: %v", w, err)
			}
			check(t, fsys, sc, w)
		}
	}
	return n
}

// check asserts the invariant: the device is exactly in the old or the new
// state (files, modes, folders, unmanaged files and commit record).
func check(t *testing.T, fsys *vfs.MemFS, sc scenario, where string) {
	t.Helper()
	got, rec := scanTarget(t, fsys, sc), readRecordString(t, fsys, sc, where)
	for _, s := range append([]state{sc.old, sc.new}, sc.also...) {
		if diffTrees(s.layout(), got) == "" && rec == s.record() && slotsProblem(t, fsys, sc, s) == "" {
			return
		}
	}
	t.Fatalf("%s: the device is in neither the old nor the new state (record: %s)\nold (%s):\n%s%snew (%s):\n%s%s", where, rec,
		sc.old.record(), diffTrees(sc.old.layout(), got), slotsProblem(t, fsys, sc, sc.old),
		sc.new.record(), diffTrees(sc.new.layout(), got), slotsProblem(t, fsys, sc, sc.new))
}

// checkState asserts that the device is exactly in state s.
func checkState(t *testing.T, fsys *vfs.MemFS, sc scenario, s state, where string) {
	t.Helper()
	if rec := readRecordString(t, fsys, sc, where); rec != s.record() {
		t.Fatalf("%s: the commit record says %s, want %s", where, rec, s.record())
	}
	if diff := diffTrees(s.layout(), scanTarget(t, fsys, sc)); diff != "" {
		t.Fatalf("%s: the target is not %s (-want +got):\n%s", where, s.record(), diff)
	}
	if p := slotsProblem(t, fsys, sc, s); p != "" {
		t.Fatalf("%s: %s", where, p)
	}
}

func readRecordString(t *testing.T, fsys *vfs.MemFS, sc scenario, where string) string {
	t.Helper()
	rec, err := sc.installer(fsys).Installed()
	if err != nil {
		t.Fatalf("%s: read commit record: %v", where, err)
	}
	return recordString(rec)
}
