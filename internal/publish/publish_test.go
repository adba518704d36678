package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/google/go-cmp/cmp"
)

var (
	treeV1 = tree{"app/main.py": "print('v1')\n", "bin/run.sh*": "#!/bin/sh\nexec app\n", "README": "same\n", "copy/README": "same\n"}
	treeV2 = tree{"app/main.py": "print('v2')\n", "bin/run.sh*": "#!/bin/sh\nexec app\n", "README": "same\n", "copy/README": "same\n"}
)

// TestReleaseSequence runs releases one after another on one origin.
func TestReleaseSequence(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := filepath.Join(t.TempDir(), "origin")
	v1, v2 := treeV1.write(t), treeV2.write(t)
	steps := []struct {
		name      string
		version   string
		src       string
		want      Result
		wantPoint string // version the channel offers after the step
	}{
		{"fresh channel", "1.0", v1, Result{Sequence: 1, Files: 4, NewBlobs: 3}, "1.0"},
		{"re-publish is a no-op", "1.0", v1, Result{Sequence: 1, Files: 4, Unchanged: true}, "1.0"},
		{"next release stores the changed file only", "2.0", v2, Result{Sequence: 2, Files: 4, NewBlobs: 1}, "2.0"},
		{"no-op again", "2.0", v2, Result{Sequence: 2, Files: 4, Unchanged: true}, "2.0"},
		{"old content as a new version stores nothing", "2.1", v1, Result{Sequence: 3, Files: 4}, "2.1"},
	}
	for _, s := range steps {
		got, err := release(context.Background(), Dir{Root: s.src}, origin, "stable", s.version, ring)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		s.want.Channel, s.want.Version = "stable", s.version
		if diff := cmp.Diff(&s.want, got, cmpIgnoreNewBytes); diff != "" {
			t.Errorf("%s: result (-want +got):\n%s", s.name, diff)
		}
		p, m := deviceView(t, keyDir, origin, "stable")
		if p.Version != s.wantPoint || p.Sequence != s.want.Sequence || p.Rollout != 100 {
			t.Errorf("%s: pointer %+v, want version %q sequence %d", s.name, p, s.wantPoint, s.want.Sequence)
		}
		if f, ok := m.Lookup("bin/run.sh"); !ok || f.Mode != 0o755 {
			t.Errorf("%s: bin/run.sh = %+v, want mode 0755", s.name, f)
		}
	}
}

var cmpIgnoreNewBytes = cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "NewBytes" }, cmp.Ignore())

func TestReleaseRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, ring := newKeys(t)
	symlink := treeV1.write(t)
	if err := os.Symlink("README", filepath.Join(symlink, "link")); err != nil {
		t.Fatal(err)
	}
	fifo := treeV1.write(t)
	if err := syscall.Mkfifo(filepath.Join(fifo, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		src     string
		channel string
		version string
		want    error
		wantMsg string
	}{
		{"symlink", symlink, "stable", "1.0", ErrUnsupported, `"link" is a symbolic link`},
		{"fifo", fifo, "stable", "1.0", ErrUnsupported, `"pipe" is not a regular file`},
		{"reserved path", tree{"a/.ferry/x": "x"}.write(t), "stable", "1.0", manifest.ErrPath, `"a/.ferry/x"`},
		{"letter case", tree{"README": "a", "readme": "b"}.write(t), "stable", "1.0", manifest.ErrPath, `"README" and "readme" differ only in letter case`},
		{"letter case of a folder", tree{"Lib/a.py": "a", "lib/b.py": "b"}.write(t), "stable", "1.0", manifest.ErrPath, `folder "Lib" (of "Lib/a.py") and folder "lib" (of "lib/b.py")`},
		{"bad version", treeV1.write(t), "stable", "1/0", manifest.ErrFormat, `version "1/0"`},
		{"missing source", filepath.Join(t.TempDir(), "nope"), "stable", "1.0", os.ErrNotExist, "nope"},
		{"empty source", t.TempDir(), "stable", "1.0", ErrEmpty, "the source is empty"},
		{"source is a file", filepath.Join(symlink, "README"), "stable", "1.0", errAny, "is not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			origin := t.TempDir()
			_, err := release(ctx, Dir{Root: tt.src}, origin, tt.channel, tt.version, ring)
			if err == nil || (tt.want != errAny && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Release = %v, want %v containing %q", err, tt.want, tt.wantMsg)
			}
			if _, err := os.Stat(filepath.Join(origin, filepath.FromSlash(layout.Channel(tt.channel)))); !os.IsNotExist(err) {
				t.Errorf("a refused release wrote a pointer: %v", err)
			}
		})
	}
}

func TestReleaseConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, ring := newKeys(t)
	_, otherRing := newKeys(t)
	origin := t.TempDir()
	for i, tr := range []tree{treeV1, treeV2} {
		if _, err := release(ctx, Dir{Root: tr.write(t)}, origin, "stable", fmt.Sprintf("%d.0", i+1), ring); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		src     tree
		channel string
		ring    any
		want    error
		wantMsg string
	}{
		{"same version, other content", treeV2, "stable", nil, ErrConflict, `first difference at "app/main.py"`},
		{"same version, fewer files", tree{"README": "same\n"}, "stable", nil, ErrConflict, "4 files there, 1 here"},
		{"same version, other channel", treeV1, "beta", nil, ErrConflict, `on channel "stable"`},
		{"origin signed by other keys", treeV1, "stable", otherRing, nil, "does not verify with the key folder"},
		{"older release again", treeV1, "stable", nil, ErrConflict, "was published at sequence 1 and the channel is at 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ring
			if tt.ring != nil {
				r = otherRing
			}
			_, err := release(ctx, Dir{Root: tt.src.write(t)}, origin, tt.channel, "1.0", r)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Release = %v, want %v containing %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

// TestReleaseFinishesStoppedPublish: a publish that stopped after its
// manifest but before its pointer is finished by running it again.
func TestReleaseFinishesStoppedPublish(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	src := Dir{Root: treeV1.write(t)}
	if _, err := release(context.Background(), src, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(origin, filepath.FromSlash(layout.Channel("stable")))); err != nil {
		t.Fatal(err)
	}
	res, err := release(context.Background(), src, origin, "stable", "1.0", ring)
	if err != nil || res.Unchanged || res.NewBlobs != 0 || res.Sequence != 1 {
		t.Fatalf("re-run = %+v, %v; want a pointer at sequence 1 and no new blobs", res, err)
	}
	if p, _ := deviceView(t, keyDir, origin, "stable"); p.Version != "1.0" {
		t.Errorf("pointer names %q, want 1.0", p.Version)
	}
}

func TestReleaseAfterRotation(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	if _, err := release(context.Background(), Dir{Root: treeV1.write(t)}, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Rotate(keyDir, keys.RotateOptions{Retire: "ferry-signing-1", Expires: testNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	res, err := release(context.Background(), Dir{Root: treeV2.write(t)}, origin, "stable", "2.0", loadRing(t, keyDir))
	if err != nil || res.Sequence != 2 {
		t.Fatalf("release after retiring the key that signed the pointer = %+v, %v; want sequence 2", res, err)
	}
	if p, _ := deviceView(t, keyDir, origin, "stable"); p.Version != "2.0" {
		t.Errorf("pointer names %q, want 2.0", p.Version)
	}
}

func TestHooks(t *testing.T) {
	t.Parallel()
	_, ring := newKeys(t)
	origin := t.TempDir()
	var got []string
	hooks := Hooks{
		File: func(_ context.Context, _ string, f manifest.File, prev *manifest.Manifest) error {
			pv := "none"
			if prev != nil {
				pv = prev.Version
			}
			got = append(got, f.Path+" from "+pv)
			return nil
		},
		Manifest: func(_ context.Context, _ string, prevNote, newNote []byte) error {
			got = append(got, fmt.Sprintf("manifest, previous note %t, new note %t", prevNote != nil, len(newNote) > 0))
			return nil
		},
	}
	for _, v := range []string{"1.0", "2.0"} {
		src := map[string]tree{"1.0": {"a": "1"}, "2.0": {"a": "2"}}[v]
		_, err := Release(context.Background(), Dir{Root: src.write(t)}, Options{Origin: origin, Channel: "stable",
			Version: v, Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow, Hooks: hooks})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a from none", "manifest, previous note false, new note true",
		"a from 1.0", "manifest, previous note true, new note true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hook calls (-want +got):\n%s", diff)
	}
}

func TestReleaseBusy(t *testing.T) {
	t.Parallel()
	_, ring := newKeys(t)
	origin := t.TempDir()
	unlock, err := lockOrigin(context.Background(), origin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = release(ctx, Dir{Root: treeV1.write(t)}, origin, "stable", "1.0", ring)
	if !errors.Is(err, ErrBusy) {
		t.Errorf("Release while another holds the lock = %v, want ErrBusy", err)
	}
	if _, err := Rollout(ctx, origin, "stable", 5, ring, 0, testNow); !errors.Is(err, ErrBusy) {
		t.Errorf("Rollout while another holds the lock = %v, want ErrBusy", err)
	}
	done := make(chan error)
	src := Dir{Root: treeV1.write(t)}
	go func() {
		_, err := release(context.Background(), src, origin, "stable", "1.0", ring)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // let it wait for the lock
	unlock()
	if err := <-done; err != nil {
		t.Errorf("Release waiting for the lock: %v", err)
	}
}

// TestReleaseRootLink: a source folder given as a symbolic link is followed;
// links inside it are not (see TestReleaseRefusals).
func TestReleaseRootLink(t *testing.T) {
	t.Parallel()
	_, ring := newKeys(t)
	link := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(treeV1.write(t), link); err != nil {
		t.Fatal(err)
	}
	res, err := release(context.Background(), Dir{Root: link}, t.TempDir(), "stable", "1.0", ring)
	if err != nil || res.Files != len(treeV1) {
		t.Errorf("Release through a linked root = %+v, %v; want %d files", res, err, len(treeV1))
	}
}
