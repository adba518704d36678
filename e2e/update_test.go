package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/flock"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

var (
	v1 = tree{"main.py": "print(1)\n", "lib/util.py": "def f(): pass\n", "lib/old/gone.py": "bye\n", "run.sh": "#!/bin/sh\necho 1\n", "conf.txt": "mode changes\n", "empty": ""}
	// v2: main.py changed, lib/old/gone.py deleted (and its folder), data/new.csv added,
	// conf.txt becomes executable (conf.txt.sh? no: same path, see below).
	v2 = tree{"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "data/new.csv": "a,b\n1,2\n", "run.sh": "#!/bin/sh\necho 2\n", "conf.txt": "mode changes\n", "empty": ""}
)

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.release("1.0", v1)
	r := w.update()
	if r.code != 0 || !regexp.MustCompile(`^updated \(none\) -> 1\.0 \(6 files, \d+ bytes\)\n$`).MatchString(r.stdout) {
		t.Fatalf("fresh install: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := readTree(t, w.target); !sameMap(got, want(v1)) {
		t.Fatalf("after 1.0: %v", got)
	}

	// v2 with a mode change: conf.txt keeps its content and becomes 0755.
	src := filepath.Join(w.dir, "src", "2.0")
	writeTree(t, src, v2)
	os.Chmod(filepath.Join(src, "conf.txt"), 0o755)
	mustRun(t, "ferry", "release", "--from", src, "--version", "2.0", "--keys", w.keys, "--origin", w.origin)
	r = w.update()
	if r.code != 0 || !regexp.MustCompile(`^updated 1\.0 -> 2\.0 \(5 files, \d+ bytes\)\n$`).MatchString(r.stdout) {
		t.Fatalf("update: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	wantV2 := want(v2)
	wantV2["conf.txt"] = "mode changes\n[-rwxr-xr-x]"
	if got := readTree(t, w.target); !sameMap(got, wantV2) {
		t.Fatalf("after 2.0:\n got %v\nwant %v", got, wantV2)
	}
	if _, err := os.Stat(filepath.Join(w.target, "lib", "old")); !os.IsNotExist(err) {
		t.Errorf("emptied folder lib/old still there: %v", err)
	}

	// A no-op update writes nothing to the target or the commit record.
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	var watched []string
	filepath.Walk(filepath.Dir(w.target), func(p string, fi os.FileInfo, err error) error {
		if err == nil && filepath.Base(p) != "poll.json" {
			os.Chtimes(p, past, past)
			watched = append(watched, p)
		}
		return nil
	})
	r = w.update()
	if r.code != 0 || r.stdout != "up to date (2.0)\n" {
		t.Fatalf("no-op: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, p := range watched {
		if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(past) {
			t.Errorf("%s was written by a no-op update (%v)", p, err)
		}
	}
	st := mustRun(t, "ferry-agent", "status", "--config", w.cfg)
	for _, s := range []string{"installed:   2.0 (channel stable, sequence 2)", "last check:", "in flight:   none"} {
		if !strings.Contains(st, s) {
			t.Errorf("status lacks %q:\n%s", s, st)
		}
	}
	if n := strings.Count(st, "last check"); n != 1 || strings.Contains(st, "last check:  never") {
		t.Errorf("status says \"last check\" %d times (want once, with the time of the poll):\n%s", n, st)
	}
	if out := mustRun(t, "ferry-agent", "recover", "--config", w.cfg); out != "nothing to recover (2.0)\n" {
		t.Errorf("recover: %q", out)
	}
}

// TestRefusals: every refusal leaves the device on 1.0 untouched, exits 1,
// and says what failed in one line plus a hint.
func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		stage func(t *testing.T, w *world)
		msg   string
	}{
		{"root key not pinned (untrusted signatures)", func(t *testing.T, w *world) {
			other := filepath.Join(w.dir, "otherkeys")
			mustRun(t, "ferry", "keygen", "--out", other)
			w.release("2.0", v2)
			w.configRoot(filepath.Join(other, "root.pub"))
		}, "not signed by a trusted key"},
		{"rollback: the origin replays an old pointer", func(t *testing.T, w *world) {
			w.release("2.0", v2)
			old := w.readOrigin(layout.Channel("stable"))
			if r := w.update(); r.code != 0 {
				t.Fatal(r.stderr)
			}
			w.wantTree = v2
			w.release("3.0", v1)
			w.writeOrigin(layout.Channel("stable"), old) // pointer 2.0 (sequence 2)
			w.writeOrigin(layout.Channel("stable"), w.signedPointer("1.0", 1))
		}, "rollback refused"},
		{"expired release (freeze)", func(t *testing.T, w *world) {
			w.release("2.0", v2, "--expires", "1s")
			time.Sleep(1100 * time.Millisecond)
		}, "expired"},
		{"tampered blob", func(t *testing.T, w *world) {
			w.release("2.0", v2)
			// Without deltas: the bundle would carry the genuine content.
			os.RemoveAll(filepath.Join(w.origin, "deltas"))
			sum := sha256.Sum256([]byte(v2["main.py"]))
			w.writeOrigin(layout.Blob(sum), []byte("(tampered)"))
		}, "does not match the manifest"},
		{"mix and match: another release's manifest", func(t *testing.T, w *world) {
			w.release("2.0", v2)
			// Without patches: a device would otherwise rebuild the genuine
			// 2.0 manifest from 1.0's and never read the tampered file.
			os.RemoveAll(filepath.Join(w.origin, "deltas"))
			w.writeOrigin(layout.Manifest("2.0"), w.readOrigin(layout.Manifest("1.0")))
		}, "the signed channel pointer names"},
		{"file list over max_files", func(t *testing.T, w *world) {
			w.release("2.0", v2)
			w.configExtra("max_files = 3\n")
		}, "max_files"},
		{"path with ..", func(t *testing.T, w *world) { w.hostile("../escape.txt") }, `".." component`},
		{"absolute path", func(t *testing.T, w *world) { w.hostile("/etc/evil") }, "absolute"},
		{"path into the state folder", func(t *testing.T, w *world) { w.hostile(".ferry/installed.json") }, ".ferry"},
		{"symlink in the target to outside", func(t *testing.T, w *world) {
			outside := filepath.Join(w.dir, "outside")
			os.MkdirAll(outside, 0o755)
			os.Symlink(outside, filepath.Join(w.target, "data"))
			w.extraFiles = map[string]string{"data": "symlink"}
			w.release("2.0", v2)
		}, "symlink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.release("1.0", v1)
			if r := w.update(); r.code != 0 {
				t.Fatal(r.stderr)
			}
			w.wantTree = v1
			tc.stage(t, w)
			before := readTree(t, w.target)
			r := w.update()
			var line string // the error line; warnings logged on the way may precede it
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(l, "ferry-agent update: ") {
					line = l
				}
			}
			if r.code != 1 || !strings.Contains(line, tc.msg) {
				t.Fatalf("exit %d, stderr %q: want exit 1 and one line saying %q", r.code, r.stderr, tc.msg)
			}
			if after := readTree(t, w.target); !sameMap(before, after) {
				t.Fatalf("target changed:\nbefore %v\nafter  %v", before, after)
			}
			if _, err := os.Stat(filepath.Join(w.dir, "outside", "new.csv")); err == nil {
				t.Fatal("wrote outside the target through a symlink")
			}
		})
	}
}

func (w *world) configRoot(rootPub string) {
	text, _ := os.ReadFile(w.cfg)
	s := strings.Replace(string(text), filepath.Join(w.keys, "root.pub"), rootPub, 1)
	os.WriteFile(w.cfg, []byte(s), 0o644)
}

func (w *world) configExtra(extra string) { w.config(extra) }

func (w *world) readOrigin(p string) []byte {
	w.t.Helper()
	data, err := os.ReadFile(filepath.Join(w.origin, filepath.FromSlash(p)))
	if err != nil {
		w.t.Fatal(err)
	}
	return data
}

func (w *world) writeOrigin(p string, data []byte) {
	w.t.Helper()
	full := filepath.Join(w.origin, filepath.FromSlash(p))
	os.MkdirAll(filepath.Dir(full), 0o755)
	if err := os.WriteFile(full, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) signingKey() string {
	w.t.Helper()
	data, err := os.ReadFile(filepath.Join(w.keys, "signing-1.key"))
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// signedPointer signs a channel pointer to the manifest already published
// for version, with sequence seq: a replay of an honest old pointer.
func (w *world) signedPointer(version string, seq uint64) []byte {
	w.t.Helper()
	note := w.readOrigin(layout.Manifest(version))
	p := &manifest.Pointer{Channel: "stable", Version: version, Sequence: seq, Manifest: sha256.Sum256(note),
		ManifestSize: int64(len(note)), Expires: time.Now().Add(time.Hour), Rollout: 100}
	text, err := p.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	msg, err := trust.Sign(text, w.signingKey())
	if err != nil {
		w.t.Fatal(err)
	}
	return msg
}

// hostile publishes, signed with the real signing key, a release 2.0 whose
// manifest names path p: what a fooled build machine might sign.
func (w *world) hostile(p string) {
	w.t.Helper()
	w.release("2.0", v2)
	sum := sha256.Sum256([]byte(v2["main.py"]))
	blob := w.readOrigin(layout.Blob(sum))
	text := fmt.Sprintf("ferry-manifest 1\nchannel stable\nversion 2.0\nsequence 2\ncreated 2026-01-01T00:00:00Z\nexpires %s\nfiles 1\nf 0644 %d %d %x %s\n",
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), len(v2["main.py"]), len(blob), sum, p)
	note, err := trust.Sign([]byte(text), w.signingKey())
	if err != nil {
		w.t.Fatal(err)
	}
	w.writeOrigin(layout.Manifest("2.0"), note)
	w.writeOrigin(layout.Channel("stable"), w.signedPointer("2.0", 2))
}

// TestBusyDevice: while another process holds the device's lock (the daemon
// in the middle of an update), `ferry-agent update` waits a moment, then
// refuses with a clear error and touches nothing.
func TestBusyDevice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.release("1.0", v1)
	if r := w.update(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	w.release("2.0", v2)
	unlock, err := flock.Lock(context.Background(), filepath.Join(w.state, "agent.lock"))
	if err != nil {
		t.Fatal(err)
	}
	r := w.update()
	if r.code != 1 || !strings.Contains(r.stderr, "another ferry-agent") {
		t.Fatalf("busy device: exit %d %q", r.code, r.stderr)
	}
	if got := readTree(t, w.target); !sameMap(got, want(v1)) {
		t.Fatal("a refused update changed the target")
	}
	unlock()
	if r := w.update(); r.code != 0 || !strings.HasPrefix(r.stdout, "updated 1.0 -> 2.0") {
		t.Fatalf("after the lock was released: %q %q", r.stdout, r.stderr)
	}
}
