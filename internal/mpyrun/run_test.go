package mpyrun

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/publish"
)

// publisher publishes releases into an origin folder served over HTTP,
// with the .z blobs of MicroPython boards.
type publisher struct {
	t      *testing.T
	keyDir string
	ring   *keys.Ring
	origin string
	url    string
}

func newPublisher(t *testing.T) *publisher {
	t.Helper()
	now := time.Now()
	p := &publisher{t: t, keyDir: filepath.Join(t.TempDir(), "keys"), origin: t.TempDir()}
	if err := keys.Generate(p.keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: now.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(p.keyDir, now)
	if err != nil {
		t.Fatal(err)
	}
	p.ring = ring
	srv := httptest.NewServer(http.FileServer(http.Dir(p.origin)))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/"
	return p
}

func (p *publisher) release(version string, files map[string]string) {
	p.t.Helper()
	src := p.t.TempDir()
	writeFiles(p.t, src, files)
	var z publish.Zlib
	now := time.Now()
	_, err := publish.Release(context.Background(), publish.Dir{Root: src}, publish.Options{Origin: p.origin, Channel: "stable",
		Version: version, Expires: now.Add(time.Hour), Keys: p.ring, Now: now, Hooks: z.WithZlib(publish.Hooks{})})
	if err != nil {
		p.t.Fatal(err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// flash lists the files of dir outside the state folder .ferry.
func flash(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.Name() == ".ferry" {
				return filepath.SkipDir
			}
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantFlash(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := flash(t, dir)
	for name, content := range want {
		if got[name] != content {
			t.Errorf("flash %s = %q, want %q", name, got[name], content)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("flash holds %s, which it should not", name)
		}
	}
}

// TestRun drives micropython/run DIR CMD, the board simulator, against
// releases from the Go publisher: a fresh install, confirm, an update with
// a change, an add and a delete (mirrored back to DIR), a no-op, a failure
// (exit 1, one line, the files untouched) and bad usage (exit 2).
func TestRun(t *testing.T) {
	r := Need(t)
	p := newPublisher(t)
	v1 := map[string]string{"main.py": "print('v1')\n", "lib/util.py": "X = 1\n", "old.txt": "old\n"}
	p.release("1.0", v1)
	dev := t.TempDir()
	rootPub, err := os.ReadFile(filepath.Join(p.keyDir, "root.pub"))
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"ferry.json": `{"origin": "` + p.url + `", "root_keys": ["/root.pub"]}`, "root.pub": string(rootPub), "data.txt": "app data\n"}
	writeFiles(t, dev, own)

	run := func(want string, args ...string) Result {
		t.Helper()
		start := time.Now()
		res := r.Run(t, dev, args...)
		if !regexp.MustCompile(want).MatchString(res.Stdout) || res.Code != 0 {
			t.Fatalf("run %s: want stdout %q: %s", args, want, res)
		}
		t.Logf("run %s: %s(%v)", args, res.Stdout, time.Since(start).Round(time.Millisecond))
		return res
	}
	run(`^updated \(none\) -> 1\.0 \(3 files, \d+ bytes\)\n$`, "update")
	wantFlash(t, dev, merge(own, v1))
	run(`^confirmed 1\.0\n$`, "confirm")

	v2 := map[string]string{"main.py": "print('v2')\n", "lib/util.py": "X = 1\n", "lib/new.py": "Y = 2\n"}
	p.release("1.1", v2)
	run(`^updated 1\.0 -> 1\.1 \(\d+ files, \d+ bytes\)\n$`, "update")
	wantFlash(t, dev, merge(own, v2))
	run(`^confirmed 1\.1\n$`, "confirm")
	run(`^up to date \(1\.1\)\n$`, "update")
	run(`(?m)^installed: +1\.1 `, "status")

	// A failure: exit 1, one line on stderr, the files as they were.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	own["ferry.json"] = `{"origin": "` + closed + `", "root_keys": ["/root.pub"], "http_retries": 1, "backoff_sec": 1}`
	writeFiles(t, dev, own)
	res := r.Run(t, dev, "update")
	if res.Code != 1 || !strings.HasPrefix(res.Stderr, "ferry: ") || strings.Count(res.Stderr, "\n") != 1 {
		t.Errorf("update from a closed port: want exit 1 and one line 'ferry: ...' on stderr: %s", res)
	}
	wantFlash(t, dev, merge(own, v2))

	for _, args := range [][]string{{"bogus"}, {}, {"update", "extra"}} {
		if res := r.Run(t, dev, args...); res.Code != 2 || !strings.Contains(res.Stderr, "usage: micropython/run DIR") {
			t.Errorf("run %q: want exit 2 and the usage: %s", args, res)
		}
	}
	if res := r.Command(t, filepath.Join(r.Root, "micropython", "run"), filepath.Join(dev, "nope"), "status"); res.Code != 2 || !strings.Contains(res.Stderr, "no such folder") {
		t.Errorf("run on a missing folder: %s", res)
	}
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}
