package update

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/vfs"
)

var (
	v1 = originsim.Tree{"main.py": "print(1)\n", "lib/util.py": "def f(): pass\n", "run.sh": "#!/bin/sh\n"}
	v2 = originsim.Tree{"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "lib/new.py": "new\n", "run.sh": "#!/bin/sh\n"}
)

type device struct {
	opt    Options
	target string
}

func newDevice(t *testing.T, sim *originsim.Sim) *device {
	t.Helper()
	dir := t.TempDir()
	target, state := filepath.Join(dir, "app"), filepath.Join(dir, "state")
	for _, d := range []string{target, state} {
		os.MkdirAll(d, 0o755)
	}
	in := &install.Installer{FS: vfs.OS{}, Target: target, State: state, Decode: DecodeStored(manifest.Limits{})}
	return &device{target: target, opt: Options{Source: sim, Installer: in, Roots: sim.Roots(), Channel: "stable",
		Now: func() time.Time { return sim.Now }, Retry: origin.RetryPolicy{}}}
}

// installedV1 returns a simulated origin that published v1 as 1.0, and a
// device that installed it.
func installedV1(t *testing.T) (*originsim.Sim, *device) {
	t.Helper()
	sim := originsim.New(t)
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	d := newDevice(t, sim)
	d.mustRun(t)
	return sim, d
}

func (d *device) run(t *testing.T) (*Result, error) {
	t.Helper()
	return Run(context.Background(), d.opt)
}

func (d *device) mustRun(t *testing.T) *Result {
	t.Helper()
	res, err := d.run(t)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// files reads the whole target without following symlinks: path → "file
// MODE CONTENT", "folder MODE" or "symlink -> DEST". A walk error fails the
// test.
func (d *device) files(t *testing.T) originsim.Tree {
	t.Helper()
	out := originsim.Tree{}
	err := filepath.WalkDir(d.target, func(p string, e os.DirEntry, err error) error {
		if err != nil || p == d.target {
			return err
		}
		rel, _ := filepath.Rel(d.target, p)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		switch {
		case e.IsDir():
			out[key] = fmt.Sprintf("folder %04o", fi.Mode().Perm())
		case e.Type()&fs.ModeSymlink != 0:
			dest, err := os.Readlink(p)
			out[key] = "symlink -> " + dest
			return err
		case e.Type().IsRegular():
			data, err := os.ReadFile(p)
			out[key] = fmt.Sprintf("file %04o %q", fi.Mode().Perm(), data)
			return err
		default:
			out[key] = fmt.Sprintf("special %v", fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the target: %v", err)
	}
	return out
}

// sameTree reports whether got, a target as files reads it, holds exactly
// the release want (path → content): its files with their content and
// modes (originsim.Mode), the folders they need (0755), and nothing else.
func sameTree(got, want originsim.Tree) bool {
	return maps.Equal(got, layoutOf(want))
}

func layoutOf(release originsim.Tree) originsim.Tree {
	out := originsim.Tree{}
	for p, c := range release {
		out[p] = fmt.Sprintf("file %04o %q", originsim.Mode(p).Perm(), c)
		for i := range len(p) {
			if p[i] == '/' {
				out[p[:i]] = "folder 0755"
			}
		}
	}
	return out
}

func TestUpdateFlow(t *testing.T) {
	t.Parallel()
	sim := originsim.New(t)
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	d := newDevice(t, sim)
	if res := d.mustRun(t); res.String() != "updated (none) -> 1.0 (3 files, "+itoa(res.Downloaded)+" bytes)" || res.Downloaded == 0 {
		t.Fatalf("first run: %q", res)
	}
	if !sameTree(d.files(t), v1) {
		t.Fatalf("target %v", d.files(t))
	}
	// A poll with nothing new is one conditional request.
	before, _ := sim.Requests()
	if res := d.mustRun(t); res.String() != "up to date (1.0)" {
		t.Fatalf("second run: %q", res)
	}
	after, _ := sim.Requests()
	if got := after[len(before):]; len(got) != 1 || got[0] != layout.Channel("stable") {
		t.Fatalf("no-change poll fetched %v, want only the channel pointer", got)
	}
	sim.Publish(originsim.Release{Version: "2.0"}, v2)
	res := d.mustRun(t)
	if res.String() != "updated 1.0 -> 2.0 (2 files, "+itoa(res.Downloaded)+" bytes)" {
		t.Fatalf("update: %q", res)
	}
	if !sameTree(d.files(t), v2) {
		t.Fatalf("target %v", d.files(t))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAttacks stages each attack of TUF's threat model that the key chain
// must stop. Each is refused with its own error, and the target keeps v1
// byte for byte.
func TestAttacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		stage func(t *testing.T, sim *originsim.Sim, d *device)
		want  error
		msg   string
	}{
		{"rollback to a lower sequence", func(t *testing.T, sim *originsim.Sim, d *device) {
			old := sim.Snapshot()
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
			d.mustRun(t)
			sim.Restore(old) // replay the v1 channel pointer
			sim.Publish(originsim.Release{Version: "0.9", Sequence: 1}, v2)
		}, ErrRollback, "older than the installed"},
		{"expired pointer (freeze)", func(t *testing.T, sim *originsim.Sim, d *device) {
			sim.Publish(originsim.Release{Version: "2.0", Expires: sim.Now.Add(-time.Minute)}, v2)
		}, ErrFrozen, "expired"},
		{"cached pointer expires (freeze by 304)", func(t *testing.T, sim *originsim.Sim, d *device) {
			sim.Now = sim.Now.Add(400 * 24 * time.Hour)
		}, ErrFrozen, "stale metadata"},
		{"pointer signed by an unknown key", func(t *testing.T, sim *originsim.Sim, d *device) {
			rogue := originsim.NewKey(t, "ferry-signing-1")
			sim.Publish(originsim.Release{Version: "2.0", Signer: &rogue}, v2)
		}, trust.ErrUntrusted, "not signed by a trusted key"},
		{"signing key not signed by a root", func(t *testing.T, sim *originsim.Sim, d *device) {
			rogue := originsim.NewKey(t, "ferry-root-1")
			sim.PublishKeys(rogue, sim.Now.Add(time.Hour), sim.Signing)
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
		}, trust.ErrUntrusted, "signing-keys"},
		{"expired signing-key bundle", func(t *testing.T, sim *originsim.Sim, d *device) {
			sim.PublishKeys(sim.Root, sim.Now.Add(-time.Hour), sim.Signing)
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
		}, trust.ErrExpired, "expired"},
		{"mix and match: another release's manifest", func(t *testing.T, sim *originsim.Sim, d *device) {
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
			other := sim.Snapshot()[layout.Manifest("1.0")]
			sim.Put(layout.Manifest("2.0"), other)
		}, ErrMismatch, "SHA-256"},
		{"tampered blob", func(t *testing.T, sim *originsim.Sim, d *device) {
			m := sim.Publish(originsim.Release{Version: "2.0"}, v2)
			f, _ := m.Lookup("main.py")
			evil := sim.PutBlob("main.py", []byte("print(6)\n"))
			sim.Put(layout.Blob(f.SHA256), sim.Get(layout.Blob(evil.SHA256)))
		}, install.ErrChecksum, "signed hash"},
		{"dotdot path", hostileManifest("../escape.py"), manifest.ErrPath, `".." component`},
		{"absolute path", hostileManifest("/etc/passwd"), manifest.ErrPath, "absolute"},
		{"backslash path", hostileManifest(`lib\\evil.py`), manifest.ErrPath, "backslash"},
		{"path into the state folder", hostileManifest(".ferry/installed.json"), manifest.ErrPath, ".ferry"},
		{"symlink in the target pointing outside", func(t *testing.T, sim *originsim.Sim, d *device) {
			out := t.TempDir()
			if err := errors.Join(os.RemoveAll(filepath.Join(d.target, "lib")), os.Symlink(out, filepath.Join(d.target, "lib"))); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { // after the refused update (and before t.TempDir's removal)
				if es, err := os.ReadDir(out); err != nil || len(es) > 0 {
					t.Errorf("the folder the symlink points to: %v, %v; want it empty", es, err)
				}
			})
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
		}, install.ErrUnsafePath, "symlink"},
		{"file list over the cap", func(t *testing.T, sim *originsim.Sim, d *device) {
			d.opt.Limits = manifest.Limits{MaxFiles: 3}
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
		}, manifest.ErrTooLarge, "max_files"},
		{"file over the cap", func(t *testing.T, sim *originsim.Sim, d *device) {
			d.opt.Limits = manifest.Limits{MaxFileSize: 8}
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
		}, manifest.ErrTooLarge, "max_file_mb"},
		{"manifest over the cap", func(t *testing.T, sim *originsim.Sim, d *device) {
			d.opt.MaxManifestSize = 100
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
		}, manifest.ErrTooLarge, "max_manifest_kb"},
		{"endless response", func(t *testing.T, sim *originsim.Sim, d *device) {
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
			sim.Endless = true
		}, origin.ErrTooLarge, ""},
		{"pointer for another channel", func(t *testing.T, sim *originsim.Sim, d *device) {
			sim.Publish(originsim.Release{Version: "2.0", Channel: "beta"}, v2)
			sim.Put(layout.Channel("stable"), sim.Get(layout.Channel("beta")))
		}, ErrMismatch, `channel "beta"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, d := installedV1(t)
			tc.stage(t, sim, d)
			before := d.files(t)
			_, err := d.run(t)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v\nwant %v saying %q", err, tc.want, tc.msg)
			}
			if after := d.files(t); !maps.Equal(before, after) {
				t.Fatalf("target changed by a refused update:\nbefore %v\nafter  %v", before, after)
			}
			rec, _ := d.opt.Installer.Installed()
			if rec.Version != "1.0" && tc.name != "rollback to a lower sequence" {
				t.Fatalf("record says %s", rec.Version)
			}
		})
	}
}

// hostileManifest publishes a v2 whose signed manifest names path p: a
// manifest no honest publisher would make, signed by the real key (as if the
// publisher's build machine were fooled).
func hostileManifest(p string) func(t *testing.T, sim *originsim.Sim, d *device) {
	return func(t *testing.T, sim *originsim.Sim, d *device) {
		f := sim.PutBlob("x", []byte("evil\n"))
		text := "ferry-manifest 1\nchannel stable\nversion 2.0\nsequence 2\ncreated 2026-11-25T12:00:00Z\nexpires 2027-11-25T12:00:00Z\nfiles 1\n" +
			"f 0644 " + itoa(f.Size) + " " + itoa(f.ZSize) + " " + f.SHA256.String() + " " + p + "\n"
		sim.Publish(originsim.Release{Version: "2.0", Manifest: []byte(text)}, nil)
	}
}

// TestRolloutRepointsSameManifest: `ferry rollout` re-signs the pointer at a
// higher sequence for the same manifest; devices take it, and record the
// pointer's sequence so a replay of the older pointer is a rollback.
func TestRolloutRepointsSameManifest(t *testing.T) {
	t.Parallel()
	sim := originsim.New(t)
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	d := newDevice(t, sim)
	d.mustRun(t)
	m := sim.Publish(originsim.Release{Version: "2.0", Rollout: 20}, v2)
	twenty := sim.Get(layout.Channel("stable"))
	note := sim.Get(layout.Manifest("2.0"))
	p := &manifest.Pointer{Channel: "stable", Version: "2.0", Sequence: m.Sequence + 1, Manifest: sha256.Sum256(note),
		ManifestSize: int64(len(note)), Expires: m.Expires, Rollout: 100}
	text, _ := p.Marshal()
	msg, _ := trust.Sign(text, sim.Signing.Secret)
	sim.Put(layout.Channel("stable"), msg)
	if res := d.mustRun(t); !strings.HasPrefix(res.String(), "updated 1.0 -> 2.0") {
		t.Fatalf("rollout: %s", res)
	}
	rec, _ := d.opt.Installer.Installed()
	if rec.Sequence != m.Sequence+1 {
		t.Fatalf("record sequence %d, want the pointer's %d", rec.Sequence, m.Sequence+1)
	}
	sim.Put(layout.Channel("stable"), twenty)
	if _, err := d.run(t); !errors.Is(err, ErrRollback) {
		t.Fatalf("replay of the 20%% pointer: %v, want ErrRollback", err)
	}
}
