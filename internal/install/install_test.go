package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/vfs"
)

var (
	v1 = tree{"main.py": "print(1)\n", "lib/util.py": "def f(): pass\n", "lib/old/gone.py": "x\n", "run.sh": "#!/bin/sh\n", "same.txt": "same\n"}
	// v2 changes main.py, deletes lib/old/gone.py, adds conf/a/b.toml, and
	// flips run.sh to non-executable by renaming nothing: mode comes from the name,
	// so mode changes are tested separately.
	v2 = tree{"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "conf/a/b.toml": "k = 1\n", "run.sh": "#!/bin/sh\necho v2\n", "same.txt": "same\n"}
)

func newOSInstaller(t *testing.T) *Installer {
	t.Helper()
	dir := t.TempDir()
	in := &Installer{FS: vfs.OS{}, Target: filepath.Join(dir, "app"), State: filepath.Join(dir, "state"), Decode: decodeText}
	for _, d := range []string{in.Target, in.State} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

func TestInstallFreshThenUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	unmanaged := tree{"notes.txt": "mine\n", "lib/local.cfg": "keep\n"}
	for p, c := range unmanaged {
		os.MkdirAll(filepath.Dir(filepath.Join(in.Target, p)), 0o755)
		os.WriteFile(filepath.Join(in.Target, p), []byte(c), 0o600)
	}
	res, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(v1) || res.UpToDate {
		t.Fatalf("fresh install: %+v", res)
	}
	checkTarget(t, in.FS, in.Target, v1, unmanagedFiles(unmanaged))

	f := newFetcher(v2)
	res, err = in.Install(ctx, release(t, "2.0", 2, v2), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Replaced != 2 || res.Deleted != 1 {
		t.Fatalf("update: added %d replaced %d deleted %d, want 1 2 1", res.Added, res.Replaced, res.Deleted)
	}
	checkTarget(t, in.FS, in.Target, v2, unmanagedFiles(unmanaged))
	if _, err := os.Stat(filepath.Join(in.Target, "lib/old")); !os.IsNotExist(err) {
		t.Errorf("folder emptied by the update still exists: %v", err)
	}
	if len(f.fetched) != 3 {
		t.Errorf("fetched %v, want only the 3 changed files", f.fetched)
	}
	rec, err := in.Installed()
	if err != nil || rec.Version != "2.0" || rec.Sequence != 2 {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if _, err := os.Stat(in.txn()); !os.IsNotExist(err) {
		t.Errorf("transaction folder left behind: %v", err)
	}
	es, _ := os.ReadDir(in.manifests())
	if len(es) != 1 {
		t.Errorf("%d stored manifests, want 1", len(es))
	}
}

func TestUpToDateWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	rel := release(t, "1.0", 1, v1)
	if _, err := in.Install(ctx, rel, newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	var paths []string
	filepath.Walk(filepath.Dir(in.Target), func(p string, fi os.FileInfo, err error) error {
		os.Chtimes(p, old, old)
		paths = append(paths, p)
		return nil
	})
	f := newFetcher()
	res, err := in.Install(ctx, rel, f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate || len(f.fetched) != 0 {
		t.Fatalf("second install: %+v, fetched %v", res, f.fetched)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !fi.ModTime().Equal(old) {
			t.Errorf("%s was written by an up-to-date install", p)
		}
	}
}

func TestModeChangeOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(in.Target, "run.sh"), 0o600)
	f := newFetcher()
	res, err := in.Install(ctx, release(t, "1.1", 2, v1), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chmods != 1 || len(f.fetched) != 0 {
		t.Fatalf("chmods %d fetched %v, want 1 and none", res.Chmods, f.fetched)
	}
	checkTarget(t, in.FS, in.Target, v1, nil)
}

func TestRefusalsLeaveTargetUntouched(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(in *Installer, f *memFetcher)
		want  error
	}{
		{"corrupt content", func(in *Installer, f *memFetcher) { f.corrupt["main.py"] = true }, ErrChecksum},
		{"download fails half-way", func(in *Installer, f *memFetcher) { f.fail["conf/a/b.toml"] = true }, nil},
		{"symlinked folder", func(in *Installer, f *memFetcher) {
			os.MkdirAll(filepath.Join(in.Target, "..", "outside"), 0o755)
			os.Symlink(filepath.Join(in.Target, "..", "outside"), filepath.Join(in.Target, "conf"))
		}, ErrUnsafePath},
		{"folder in the way", func(in *Installer, f *memFetcher) {
			os.MkdirAll(filepath.Join(in.Target, "main.py"), 0o755)
		}, ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			in := newOSInstaller(t)
			if tc.name != "folder in the way" {
				if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
					t.Fatal(err)
				}
			}
			f := newFetcher(v2)
			tc.setup(in, f)
			before := scan(t, in.FS, in.Target)
			_, err := in.Install(ctx, release(t, "2.0", 2, v2), f, Options{})
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			after := scan(t, in.FS, in.Target)
			if d := diffTrees(before, after); d != "" {
				t.Fatalf("target changed by a refused install:\n%s", d)
			}
			if _, err := os.Stat(filepath.Join(in.Target, "..", "outside", "a")); err == nil {
				t.Fatal("wrote through a symlink outside the target")
			}
		})
	}
}

func TestAllowFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	in.Allow = func(p string) bool { return p == "main.py" || len(p) > 4 && p[:4] == "lib/" }
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	checkTarget(t, in.FS, in.Target, tree{"main.py": v1["main.py"], "lib/util.py": v1["lib/util.py"], "lib/old/gone.py": v1["lib/old/gone.py"]}, nil)
}

func TestTrialConfirmAndRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, confirm := range []bool{true, false} {
		in := newOSInstaller(t)
		if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := in.Install(ctx, release(t, "2.0", 2, v2), newFetcher(v2), Options{Trial: true}); err != nil {
			t.Fatal(err)
		}
		// The folder the deletion emptied stays until the trial ends.
		checkTarget(t, in.FS, in.Target, v2, tree{"lib/old": folder(0o755)})
		// A restart during the trial must keep it.
		if err := in.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		rec, _ := in.Installed()
		if !rec.Trial || rec.Previous == nil || rec.Previous.Version != "1.0" {
			t.Fatalf("trial record %+v", rec)
		}
		if confirm {
			if err := in.Confirm(ctx); err != nil {
				t.Fatal(err)
			}
			checkTarget(t, in.FS, in.Target, v2, nil)
			if _, err := in.Rollback(ctx); !errors.Is(err, ErrNoTrial) {
				t.Fatalf("rollback after confirm: %v, want ErrNoTrial", err)
			}
			continue
		}
		prev, err := in.Rollback(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if prev.Version != "1.0" {
			t.Fatalf("rolled back to %+v", prev)
		}
		checkTarget(t, in.FS, in.Target, v1, nil)
		rec, _ = in.Installed()
		if rec.Version != "1.0" || rec.Trial {
			t.Fatalf("record after rollback %+v", rec)
		}
	}
}

// TestMissingStoredManifest: a state folder that lost the installed
// manifest document still updates (it cannot know which old paths to delete).
func TestMissingStoredManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	if _, err := in.Install(ctx, release(t, "1.0", 1, v1), newFetcher(v1), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(in.manifests()); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(ctx, release(t, "2.0", 2, v2), newFetcher(v2), Options{}); err != nil {
		t.Fatalf("update without the stored manifest: %v", err)
	}
	leftover := tree{"lib/old/gone.py": file(v1["lib/old/gone.py"], 0o644)}
	checkTarget(t, in.FS, in.Target, v2, leftover)
}

// TestChmodOnlyStagesNothing: a release that changes only a file's mode
// stages no content and says so (Bytes counts staged content only).
func TestChmodOnlyStagesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	if _, err := in.Install(ctx, release(t, "2.0", 2, v2), newFetcher(v2), Options{}); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(v2)
	res, err := in.Install(ctx, release(t, "2.1", 3, v2, true), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chmods != 1 || res.Files() != 1 || res.Bytes != 0 || len(f.fetched) != 0 {
		t.Fatalf("chmod-only release: %+v, fetched %v", res, f.fetched)
	}
	fi, err := os.Stat(filepath.Join(in.Target, execTxt))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("%s: %v, %v; want mode 0755", execTxt, fi, err)
	}
}
