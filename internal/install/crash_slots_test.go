package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// The power-cut proof of the slots layout: the same runner as the in-place
// one (runScenario), on an installer whose target is the link of two slots.
// Besides the files, modes and folders seen through the link and the commit
// record, it checks that the link names the slot the record names, and that
// the previous slot (the rollback of `ferry-agent rollback`) holds exactly
// the previous release whenever the record names one.

const slotsState = "/dev0/state" // outside the target: a slot must not hold it

// v3 changes v2 again: main.py and a new file; the rest is linked.
var v3 = tree{"main.py": "print(3)\n", "lib/util.py": "def f(): pass\n", "conf/a/b.toml": "k = 1\n", "run.sh": "#!/bin/sh\necho v2\n", "new.txt": "three\n"}

func slotsInstaller(fsys vfs.FS) *Installer {
	return &Installer{FS: fsys, Target: memTarget, State: slotsState, Decode: decodeText, Layout: LayoutSlots}
}

// followingInstaller is slotsInstaller with the layout of the disk, or the
// one a change of layout in flight goes to.
func followingInstaller(fsys vfs.FS) *Installer {
	in := slotsInstaller(fsys)
	var cv conversion
	if data, err := readFile(fsys, in.convertPath(), 1<<10); err == nil && json.Unmarshal(data, &cv) == nil {
		in.Layout = cv.To
	} else if l, err := in.diskLayout(); err == nil && l != "" {
		in.Layout = l
	}
	return in
}

// scanTarget scans the target through its link; a target that does not
// exist (a slots device before its first release) is empty.
func scanTarget(t *testing.T, fsys *vfs.MemFS, sc scenario) tree {
	t.Helper()
	if _, err := fsys.Lstat(memTarget); sc.slots && errors.Is(err, fs.ErrNotExist) {
		return tree{}
	}
	return scan(t, fsys, memTarget)
}

// slotsProblem says how the slots of a device disagree with state s, or ""
// when they agree (always, in place).
func slotsProblem(t *testing.T, fsys *vfs.MemFS, sc scenario, s state) string {
	t.Helper()
	if !sc.slots {
		return ""
	}
	in := slotsInstaller(fsys)
	rec, err := in.Installed()
	if err != nil {
		t.Fatalf("read commit record: %v", err)
	}
	if s.inplace {
		return inPlaceProblem(fsys, in, rec)
	}
	dest, lerr := fsys.Readlink(memTarget)
	switch {
	case rec == nil && !errors.Is(lerr, fs.ErrNotExist):
		return fmt.Sprintf("nothing is installed but the target is there (%q, %v)\n", dest, lerr)
	case rec == nil:
		return ""
	case lerr != nil || dest != in.slotLink(rec.Slot):
		return fmt.Sprintf("the record names slot %q; the target links to %q (%v)\n", rec.Slot, dest, lerr)
	case rec.Previous == nil:
		return ""
	case rec.Previous.Slot == rec.Slot:
		return fmt.Sprintf("the previous release is in the current slot %q\n", rec.Slot)
	}
	prev := state{files: s.prevFiles, chmod: s.prevChmod, dirs: s.prevDirs, bare: s.bare}.layout()
	if d := diffTrees(prev, scan(t, fsys, in.slotDir(rec.Previous.Slot))); d != "" {
		return fmt.Sprintf("the previous slot %s is not release %s:\n%s", rec.Previous.Slot, rec.Previous.Version, d)
	}
	return ""
}

func TestPowerCutSlots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r1, r2 := release(t, "1.0", 1, v1), release(t, "2.0", 2, v2, true)
	installV1 := func(in *Installer) error { _, err := in.Install(ctx, r1, newFetcher(v1), Options{}); return err }
	withUnmanaged := func(in *Installer) error { // the device's own file, in the slot the link names
		if err := installV1(in); err != nil {
			return err
		}
		for p, c := range unmanaged {
			if err := in.FS.(*vfs.MemFS).WriteFile(in.slotDir("a")+"/"+p, []byte(c), 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	installV2 := func(opt Options) func(in *Installer) error {
		return func(in *Installer) error { _, err := in.Install(ctx, r2, newFetcher(v2mode), opt); return err }
	}
	failing := func(in *Installer) error {
		f := newFetcher(v2mode)
		f.fail["conf/a/b.toml"] = true
		_, err := in.Install(ctx, r2, f, Options{})
		return err
	}
	then := func(a, b func(in *Installer) error) func(in *Installer) error {
		return func(in *Installer) error { return errorsJoin(a(in), b(in)) }
	}
	rollback := func(in *Installer) error {
		_, err := in.Rollback(ctx)
		return ignore(ignore(err, ErrNoTrial), ErrNoPrevious)
	}
	confirm := func(in *Installer) error { return ignore(in.Confirm(ctx), ErrNoTrial) }
	none := func(in *Installer) error { return nil }
	s0 := state{bare: true}
	s1bare := state{files: v1, version: "1.0", bare: true}
	s1 := state{files: v1, version: "1.0"}
	s2 := state{files: v2mode, chmod: true, version: "2.0", previous: "1.0", prevFiles: v1}
	s2trial := s2
	s2trial.trial = true
	s2alone := s2
	s2alone.previous, s2alone.prevFiles = "", nil
	r3 := release(t, "3.0", 3, v3)
	installV3 := func(in *Installer) error { _, err := in.Install(ctx, r3, newFetcher(v3), Options{}); return err }
	s3 := state{files: v3, version: "3.0", previous: "2.0", prevFiles: v2mode, prevChmod: true}
	scenarios := []scenario{
		{name: "fresh install", old: s0, new: s1bare, setup: none, run: installV1, finish: installV1},
		{name: "update: add, replace, delete, chmod", old: s1, new: s2, setup: withUnmanaged, run: installV2(Options{}), finish: installV2(Options{})},
		{name: "update whose download fails half-way", old: s1, new: s2, setup: withUnmanaged, run: failing, runFails: true, finish: installV2(Options{})},
		{name: "update on trial", old: s1, new: s2trial, setup: withUnmanaged, run: installV2(Options{Trial: true}), finish: installV2(Options{Trial: true})},
		{name: "rollback of a trial", old: s2trial, new: s1, setup: then(withUnmanaged, installV2(Options{Trial: true})), run: rollback, finish: rollback},
		{name: "confirm of a trial", old: s2trial, new: s2, setup: then(withUnmanaged, installV2(Options{Trial: true})), run: confirm, finish: confirm},
		{name: "manual rollback of a confirmed release", old: s2, new: s1, setup: then(withUnmanaged, installV2(Options{})), run: rollback, finish: rollback},
		// The slot of 1.0 is rebuilt for 3.0: while it is, 2.0 runs and
		// cannot be rolled back (the record drops 1.0 first).
		{name: "update over a previous release", old: s2, new: s3, also: []state{s2alone},
			setup: then(withUnmanaged, installV2(Options{})), run: installV3, finish: installV3},
	}
	scenarios = append(scenarios, slotsTransitions(t)...)
	for _, sc := range scenarios {
		sc.slots = true
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			points, recPoints := runScenario(t, sc)
			t.Logf("%s: %d crash points in the run x %d crash models, %d crash points inside recovery: all held", sc.name, points, 2+*crashModes, recPoints)
		})
	}
}

// inPlaceProblem says how a device that should be in place is not.
func inPlaceProblem(fsys *vfs.MemFS, in *Installer, rec *Record) string {
	if fi, err := fsys.Lstat(memTarget); err != nil || !fi.IsDir() {
		return fmt.Sprintf("the target is not a folder (%v)\n", err)
	}
	if rec != nil && rec.Slot != "" {
		return fmt.Sprintf("the record names slot %q in place\n", rec.Slot)
	}
	for _, s := range slotNames {
		if _, err := fsys.Lstat(in.slotDir(s)); err == nil {
			return fmt.Sprintf("slot folder %s is left in place\n", in.slotDir(s))
		}
	}
	return ""
}

// TestPowerCutConvert cuts the power at every operation of a change of
// layout, both ways.
func TestPowerCutConvert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inPlaceV1 := func(in *Installer) error {
		ip := *in
		ip.Layout = LayoutInPlace
		in.FS.(*vfs.MemFS).MkdirAll(memTarget, 0o755)
		if _, err := ip.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
			return err
		}
		for p, c := range unmanaged {
			if err := in.FS.(*vfs.MemFS).WriteFile(memTarget+"/"+p, []byte(c), 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	slotsV2 := func(in *Installer) error {
		r1, r2 := release(t, "1.0", 1, v1), release(t, "2.0", 2, v2, true)
		if _, err := in.Install(ctx, r1, newFetcher(v1), Options{}); err != nil {
			return err
		}
		for p, c := range unmanaged {
			if err := in.FS.(*vfs.MemFS).WriteFile(in.slotDir("a")+"/"+p, []byte(c), 0o600); err != nil {
				return err
			}
		}
		_, err := in.Install(ctx, r2, newFetcher(v2mode), Options{})
		return err
	}
	convert := func(to string) func(in *Installer) error {
		return func(in *Installer) error { return in.Convert(ctx, to) }
	}
	scenarios := []scenario{
		{name: "in place to slots", old: state{files: v1, version: "1.0", inplace: true}, new: state{files: v1, version: "1.0"},
			setup: inPlaceV1, run: convert(LayoutSlots), finish: convert(LayoutSlots)},
		{name: "slots to in place", old: state{files: v2mode, chmod: true, version: "2.0", previous: "1.0", prevFiles: v1},
			new: state{files: v2mode, chmod: true, version: "2.0", inplace: true}, setup: slotsV2, run: convert(LayoutInPlace), finish: convert(LayoutInPlace)},
	}
	for _, sc := range scenarios {
		sc.slots, sc.diskLayout = true, true
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			points, recPoints := runScenario(t, sc)
			t.Logf("%s: %d crash points x %d crash models, %d inside recovery: all held", sc.name, points, 2+*crashModes, recPoints)
		})
	}
}

// slotsTransitions: conf turns from a file into a folder, and from a
// private folder (0700, holding an empty folder 0750 of the device's own)
// into a file and back by a trial's rollback, in the slots layout.
func slotsTransitions(t *testing.T) []scenario {
	ctx := context.Background()
	install := func(version string, seq uint64, files tree, opt Options) func(in *Installer) error {
		rel := release(t, version, seq, files)
		return func(in *Installer) error {
			_, err := in.Install(ctx, rel, newFetcher(confFile, confFolder), opt)
			return err
		}
	}
	first := func(files tree, private bool) func(in *Installer) error {
		return func(in *Installer) error {
			if err := install("1.0", 1, files, Options{})(in); err != nil {
				return err
			}
			for p, c := range unmanaged {
				if err := in.FS.(*vfs.MemFS).WriteFile(in.slotDir("a")+"/"+p, []byte(c), 0o600); err != nil {
					return err
				}
			}
			if !private {
				return nil
			}
			dir := memTarget + "/conf" // through the link
			return errorsJoin(in.FS.Chmod(dir, 0o700), in.FS.Mkdir(dir+"/empty", 0o750), in.FS.SyncDir(dir+"/empty"), in.FS.SyncDir(dir))
		}
	}
	rollback := func(in *Installer) error {
		_, err := in.Rollback(ctx)
		return ignore(ignore(err, ErrNoTrial), ErrNoPrevious)
	}
	privateDirs := map[string]fs.FileMode{"conf": 0o700, "conf/empty": 0o750}
	toFolder := install("2.0", 2, confFolder, Options{})
	toFileTrial := install("2.0", 2, confFile, Options{Trial: true})
	return []scenario{
		{name: "a file becomes a folder", old: state{files: confFile, version: "1.0"},
			new:   state{files: confFolder, version: "2.0", previous: "1.0", prevFiles: confFile},
			setup: first(confFile, false), run: toFolder, finish: toFolder},
		{name: "a folder becomes a file: rollback of the trial",
			old:   state{files: confFile, version: "2.0", trial: true, previous: "1.0", prevFiles: confFolder, prevDirs: privateDirs},
			new:   state{files: confFolder, dirs: privateDirs, version: "1.0"},
			setup: func(in *Installer) error { return errorsJoin(first(confFolder, true)(in), toFileTrial(in)) },
			run:   rollback, finish: rollback},
	}
}
