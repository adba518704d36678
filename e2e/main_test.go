// Package e2e runs the real ferry and ferry-agent binaries against a real
// origin served by `ferry serve` on 127.0.0.1: fresh install, updates,
// no-op polls, every refusal, and SIGKILL at random instants of an update.
package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var bin string // folder holding the built binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e-bin-")
	if err != nil {
		panic(err)
	}
	bin = dir
	for _, name := range []string{"ferry", "ferry-agent"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", name, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a command did.
type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return r
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := run(t, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// tree is a release's files: path → content; *.sh files are executable.
type tree map[string]string

func writeTree(t *testing.T, dir string, files tree) {
	t.Helper()
	os.RemoveAll(dir)
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, mode)
	}
}

// readTree reads every regular file under dir, content and mode (dir may
// be the link of the slots layout).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, ".ferry") {
			return nil
		}
		fi, _ := e.Info()
		data, _ := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = fmt.Sprintf("%s[%v]", data, fi.Mode())
		return nil
	})
	return out
}

// want renders a release tree as readTree would see it installed.
func want(files tree) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		out[p] = fmt.Sprintf("%s[%v]", c, mode)
	}
	return out
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// world is a publisher with keys, an origin served over HTTP, and a device.
type world struct {
	t                      *testing.T
	dir, keys, origin, url string
	cfg, target, state     string
	serve                  *exec.Cmd
	wantTree               tree
	extraFiles             map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, dir: dir, keys: filepath.Join(dir, "keys"), origin: filepath.Join(dir, "origin"),
		target: filepath.Join(dir, "device", "app"), state: filepath.Join(dir, "device", "state")}
	mustRun(t, "ferry", "keygen", "--out", w.keys)
	os.MkdirAll(w.origin, 0o755)
	w.startServe()
	w.config("")
	return w
}

func (w *world) startServe() {
	w.t.Helper()
	port := freePort(w.t)
	w.url = fmt.Sprintf("http://127.0.0.1:%d/", port)
	w.serve = exec.Command(filepath.Join(bin, "ferry"), "serve", w.origin, "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	if err := w.serve.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { w.serve.Process.Kill(); w.serve.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatal("ferry serve did not start")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// config writes the device's agent.toml with extra lines appended.
func (w *world) config(extra string) {
	w.t.Helper()
	w.cfg = filepath.Join(w.dir, "device", "agent.toml")
	os.MkdirAll(filepath.Dir(w.cfg), 0o755)
	text := fmt.Sprintf("origin = %q\ntarget = \"app\"\nstate = \"state\"\nroot_keys = [%q]\nhttp_retries = 1\nbackoff_sec = 0\nmax_backoff_sec = 1\n%s",
		w.url, filepath.Join(w.keys, "root.pub"), extra)
	if err := os.WriteFile(w.cfg, []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) release(version string, files tree, extra ...string) {
	w.t.Helper()
	src := filepath.Join(w.dir, "src", version)
	writeTree(w.t, src, files)
	args := append([]string{"release", "--from", src, "--version", version, "--keys", w.keys, "--origin", w.origin}, extra...)
	mustRun(w.t, "ferry", args...)
}

func (w *world) update() result {
	w.t.Helper()
	return run(w.t, "ferry-agent", "update", "--config", w.cfg)
}
