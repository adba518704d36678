package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathTurnsFolderOrFile: a path of the installed release that the new
// one needs as a folder (conf → conf/main), or the reverse, installs, and a
// trial of the reverse change rolls back to the exact tree, folder modes too.
func TestPathTurnsFolderOrFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		from, to tree
	}{
		{"file to folder", confFile, confFolder},
		{"folder to file", confFolder, confFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := newOSInstaller(t)
			f := newFetcher(confFile, confFolder)
			if _, err := in.Install(ctx, release(t, "1.0", 1, tc.from), f, Options{}); err != nil {
				t.Fatal(err)
			}
			if _, err := in.Install(ctx, release(t, "2.0", 2, tc.to), f, Options{}); err != nil {
				t.Fatalf("install 2.0: %v", err)
			}
			checkTarget(t, in.FS, in.Target, tc.to, nil)
			for _, d := range []string{"conf", "conf/sub"} { // a device's own folder modes
				os.Chmod(filepath.Join(in.Target, d), 0o700)
			}
			before := scan(t, in.FS, in.Target)
			if _, err := in.Install(ctx, release(t, "3.0", 3, tc.from), f, Options{Trial: true}); err != nil {
				t.Fatalf("install 3.0 on trial: %v", err)
			}
			checkTarget(t, in.FS, in.Target, tc.from, nil)
			if _, err := in.Rollback(ctx); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if d := diffTrees(before, scan(t, in.FS, in.Target)); d != "" {
				t.Fatalf("rollback did not restore the tree (-want +got):\n%s", d)
			}
		})
	}
}

// TestTransitionRefusesUnmanaged: a file or folder in the way that the
// installed release did not manage stops the install with today's error,
// and nothing changes.
func TestTransitionRefusesUnmanaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	folderWant := `"conf" is a file in the target, but the release needs it as a folder for "conf/main"`
	fileWant := `"conf" is a folder in the target, but the release has a file there`
	for _, tc := range []struct {
		name      string
		installed tree                   // nil: nothing installed
		setup     func(in *Installer)    // the device's own change
		allow     func(path string) bool // nil: all managed
		to        tree
		want      string
	}{
		{"a file nothing installed", nil, func(in *Installer) { write(t, in, "conf", "mine\n") }, nil, confFolder, folderWant},
		{"a file the release does not manage", confFile, func(in *Installer) { write(t, in, "conf", "mine\n") }, func(p string) bool { return p != "conf" }, confFolder, folderWant},
		{"a folder holding a file of the device", confFolder, func(in *Installer) { write(t, in, "conf/sub/local.txt", "mine\n") }, nil, confFile,
			fileWant + `, and "conf/sub/local.txt" in it is not a file of the installed release`},
		{"an empty folder nothing installed", nil, func(in *Installer) { os.MkdirAll(filepath.Join(in.Target, "conf/empty"), 0o755) }, nil, confFile, fileWant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := newOSInstaller(t)
			in.Allow = tc.allow
			f := newFetcher(confFile, confFolder)
			if tc.installed != nil {
				if _, err := in.Install(ctx, release(t, "1.0", 1, tc.installed), f, Options{}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(in)
			}
			before := scan(t, in.FS, in.Target)
			_, err := in.Install(ctx, release(t, "2.0", 2, tc.to), f, Options{})
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrConflict saying %s", err, tc.want)
			}
			if d := diffTrees(before, scan(t, in.FS, in.Target)); d != "" {
				t.Fatalf("target changed by a refused install:\n%s", d)
			}
		})
	}
}

// TestRollbackKeepsFilesWrittenDuringTrial: a rollback cannot bring back a
// file while the folder that took its place holds the device's own files:
// it stops with a clear error, loses nothing, and finishes once they are
// moved away.
func TestRollbackKeepsFilesWrittenDuringTrial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newOSInstaller(t)
	f := newFetcher(confFile, confFolder)
	if _, err := in.Install(ctx, release(t, "1.0", 1, confFile), f, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Install(ctx, release(t, "2.0", 2, confFolder), f, Options{Trial: true}); err != nil {
		t.Fatal(err)
	}
	write(t, in, "conf/cache", "mine\n")
	if _, err := in.Rollback(ctx); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "move them away") {
		t.Fatalf("rollback: %v, want ErrConflict asking to move the files away", err)
	}
	if got, err := os.ReadFile(filepath.Join(in.Target, "conf/cache")); err != nil || string(got) != "mine\n" {
		t.Fatalf("the device's file: %q, %v", got, err)
	}
	if err := os.Remove(filepath.Join(in.Target, "conf/cache")); err != nil {
		t.Fatal(err)
	}
	if err := in.Recover(ctx); err != nil {
		t.Fatalf("recover after moving the file away: %v", err)
	}
	checkTarget(t, in.FS, in.Target, confFile, nil)
	if rec, err := in.Installed(); err != nil || rec.Version != "1.0" || rec.Trial {
		t.Fatalf("record %+v, %v; want 1.0", rec, err)
	}
}

func write(t *testing.T, in *Installer, p, content string) {
	t.Helper()
	full := filepath.Join(in.Target, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
