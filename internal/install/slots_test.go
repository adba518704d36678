package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func newSlotsInstaller(t *testing.T) *Installer {
	t.Helper()
	in := newOSInstaller(t)
	in.Layout = LayoutSlots // target is the empty folder made above: a fresh device
	return in
}

func checkLink(t *testing.T, in *Installer, slot string) {
	t.Helper()
	dest, err := os.Readlink(in.Target)
	if err != nil || dest != filepath.Base(in.Target)+".slot-"+slot {
		t.Fatalf("target links to %q (%v), want slot %s", dest, err, slot)
	}
	rec, err := in.Installed()
	if err != nil || rec == nil || rec.Slot != slot {
		t.Fatalf("commit record %+v (%v) does not name slot %s", rec, err, slot)
	}
}

func TestSlotsUpdateLinksUnchangedAndRollsBackWithoutCopying(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newSlotsInstaller(t)
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	checkLink(t, in, "a")
	checkTarget(t, in.FS, in.Target, v1, nil)
	mine := filepath.Join(in.Target, "lib", "notes.txt") // the device's own: carried over
	if err := os.WriteFile(mine, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(v2)
	res, err := in.Install(ctx, release(t, "2.0", 2, v2), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLink(t, in, "b")
	checkTarget(t, in.FS, in.Target, v2, unmanagedFiles(tree{"lib/notes.txt": "mine\n"}))
	if want := []string{"conf/a/b.toml", "main.py", "run.sh"}; !sameSet(f.fetched, want) {
		t.Errorf("fetched %v, want only the changed files %v", f.fetched, want)
	}
	if res.Added != 1 || res.Replaced != 2 || res.Deleted != 1 {
		t.Errorf("result %+v: want 1 added, 2 replaced, 1 deleted", res)
	}
	for _, p := range []string{"lib/util.py", "same.txt", "lib/notes.txt"} {
		if !sameInode(t, in.slotDir("a"), in.slotDir("b"), p) {
			t.Errorf("%s was copied into the new slot, not hard-linked", p)
		}
	}
	// Confirmed (no trial): ferry-agent rollback still goes back.
	prev, err := in.Rollback(ctx)
	if err != nil || prev == nil || prev.Version != "1.0" {
		t.Fatalf("rollback: %v, %v; want 1.0", prev, err)
	}
	checkLink(t, in, "a")
	checkTarget(t, in.FS, in.Target, v1, unmanagedFiles(tree{"lib/notes.txt": "mine\n"}))
	if rec, _ := in.Installed(); rec.Previous != nil || rec.Trial {
		t.Errorf("after the rollback the record keeps %+v", rec)
	}
	if _, err := in.Rollback(ctx); !errors.Is(err, ErrNoPrevious) {
		t.Errorf("a second rollback: %v, want ErrNoPrevious", err)
	}
	if m, err := in.InstalledManifest(); err != nil || m.Version != "1.0" {
		t.Errorf("installed manifest after the rollback: %v, %v", m, err)
	}
}

func TestSlotsTrial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newSlotsInstaller(t)
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	r2 := release(t, "2.0", 2, v2)
	if _, err := in.Install(ctx, r2, newFetcher(v2), Options{Trial: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(ctx, release(t, "3.0", 3, v1), newFetcher(v1), Options{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("install during a trial: %v, want ErrConflict", err)
	}
	if err := in.Confirm(ctx); err != nil {
		t.Fatal(err)
	}
	if err := in.Confirm(ctx); !errors.Is(err, ErrNoTrial) {
		t.Fatalf("second confirm: %v, want ErrNoTrial", err)
	}
	rec, _ := in.Installed()
	if rec.Trial || rec.Previous == nil || rec.Previous.Version != "1.0" {
		t.Fatalf("after confirm: %+v; want 2.0 not on trial, 1.0 kept as previous", rec)
	}
	// A newer release replaces the previous slot: 2.0 becomes the previous one.
	if _, err := in.Install(ctx, release(t, "3.0", 3, v1), newFetcher(v1), Options{Trial: true}); err != nil {
		t.Fatal(err)
	}
	checkLink(t, in, "a")
	prev, err := in.Rollback(ctx)
	if err != nil || prev.Version != "2.0" {
		t.Fatalf("rollback of the trial: %v, %v; want 2.0", prev, err)
	}
	checkLink(t, in, "b")
	checkTarget(t, in.FS, in.Target, v2, nil)
}

func TestSlotsLayoutRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newSlotsInstaller(t)
	os.WriteFile(filepath.Join(in.Target, "x"), []byte("x"), 0o644)
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); !errors.Is(err, ErrLayout) {
		t.Fatalf("slots install over an in-place folder: %v, want ErrLayout", err)
	}
	os.Remove(filepath.Join(in.Target, "x"))
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	in.Layout = LayoutInPlace
	if _, err := in.Install(ctx, release(t, "2.0", 2, v2), newFetcher(v2), Options{}); !errors.Is(err, ErrLayout) {
		t.Fatalf("in-place install on a slots link: %v, want ErrLayout", err)
	}
	checkTarget(t, in.FS, in.Target, v1, nil)
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		if seen[w] == 0 {
			return false
		}
		seen[w]--
	}
	return true
}

func sameInode(t *testing.T, a, b, p string) bool {
	t.Helper()
	fa, err := os.Stat(filepath.Join(a, p))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(filepath.Join(b, p))
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

func TestConvertBothWays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t) // in place, state beside the target
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in.Target, "mine.txt"), []byte("mine\n"), 0o600)
	mine := unmanagedFiles(tree{"mine.txt": "mine\n"})
	if err := in.Convert(ctx, "sideways"); !errors.Is(err, ErrLayout) {
		t.Fatalf("convert to an unknown layout: %v, want ErrLayout", err)
	}
	if err := in.Convert(ctx, LayoutSlots); err != nil {
		t.Fatal(err)
	}
	in.Layout = LayoutSlots
	checkLink(t, in, "a")
	checkTarget(t, in.FS, in.Target, v1, mine)
	if _, err := in.Install(ctx, release(t, "2.0", 2, v2), newFetcher(v2), Options{}); err != nil {
		t.Fatal(err)
	}
	checkLink(t, in, "b")
	if err := in.Convert(ctx, LayoutInPlace); err != nil {
		t.Fatal(err)
	}
	in.Layout = LayoutInPlace
	if fi, err := os.Lstat(in.Target); err != nil || !fi.IsDir() {
		t.Fatalf("target after converting back: %v, %v; want a folder", fi, err)
	}
	for _, s := range slotNames {
		if _, err := os.Lstat(in.slotDir(s)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("slot %s left behind: %v", s, err)
		}
	}
	checkTarget(t, in.FS, in.Target, v2, mine)
	if _, err := in.Install(ctx, release(t, "3.0", 3, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	checkTarget(t, in.FS, in.Target, v1, mine)
	if rec, _ := in.Installed(); rec.Slot != "" || rec.Version != "3.0" {
		t.Errorf("record after an in-place update: %+v", rec)
	}
}

func TestConvertRefusesTrialAndStateInside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	inside := *in
	inside.State = filepath.Join(in.Target, ".ferry")
	os.MkdirAll(inside.State, 0o755)
	if _, err := inside.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := inside.Convert(ctx, LayoutSlots); !errors.Is(err, ErrLayout) {
		t.Fatalf("convert with the state inside the target: %v, want ErrLayout", err)
	}
	in = newOSInstaller(t)
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{Trial: true}); err != nil {
		t.Fatal(err)
	}
	if err := in.Convert(ctx, LayoutSlots); !errors.Is(err, ErrConflict) {
		t.Fatalf("convert during a trial: %v, want ErrConflict", err)
	}
	if fi, err := os.Lstat(in.Target); err != nil || !fi.IsDir() {
		t.Fatalf("a refused conversion changed the target: %v", err)
	}
}

// TestSlotsFileFolderTransitions: a path that changes between file and
// folder needs no special plan in a fresh slot; a rollback flips back to
// the previous slot, which kept the folder's mode and its empty folder.
func TestSlotsFileFolderTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newSlotsInstaller(t)
	if _, err := in.Install(ctx, release(t, "1.0", 1, confFolder), newFetcher(confFolder), Options{}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(in.Target, "conf"), 0o700))
	must(os.Mkdir(filepath.Join(in.Target, "conf", "empty"), 0o750))
	if _, err := in.Install(ctx, release(t, "2.0", 2, confFile), newFetcher(confFile), Options{Trial: true}); err != nil {
		t.Fatal(err)
	}
	checkTarget(t, in.FS, in.Target, confFile, nil)
	if _, err := in.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	checkTarget(t, in.FS, in.Target, confFolder, tree{"conf": folder(0o700), "conf/empty": folder(0o750)})
	// An empty folder of the device's own is carried over where nothing is in its way.
	if _, err := in.Install(ctx, release(t, "3.0", 3, confFolder), newFetcher(confFolder), Options{}); err != nil {
		t.Fatal(err)
	}
	checkTarget(t, in.FS, in.Target, confFolder, tree{"conf": folder(0o700), "conf/empty": folder(0o750)})
	// A file of the device's own in the way of a release file stops the install.
	must(os.WriteFile(filepath.Join(in.Target, "conf", "mine.txt"), []byte("mine"), 0o600))
	if _, err := in.Install(ctx, release(t, "4.0", 4, confFile), newFetcher(confFile), Options{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("an unmanaged file where the release puts a file: %v, want ErrConflict", err)
	}
	if rec, _ := in.Installed(); rec.Version != "3.0" {
		t.Fatalf("the refused install changed the record: %+v", rec)
	}
}

// TestInPlaceThroughALinkOfOnesOwn: an in-place target may be a link to a
// folder elsewhere (another disk); only a link to a slot is the slots layout.
func TestInPlaceThroughALinkOfOnesOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	real := filepath.Join(filepath.Dir(in.Target), "data-app")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(in.Target)
	if err := os.Symlink(real, in.Target); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatalf("in-place install through a link of one's own: %v", err)
	}
	checkTarget(t, in.FS, real, v1, nil)
	if err := in.Convert(ctx, LayoutSlots); !errors.Is(err, ErrLayout) {
		t.Fatalf("convert of a linked in-place target: %v, want ErrLayout", err)
	}
}
