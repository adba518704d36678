package e2e

// Attacks and hostile networks against the MicroPython board: each refused
// with its own error, the flash untouched.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/trust"
)

// TestMicroPythonRefusals: every attack the Linux agent refuses, the board
// refuses with its own error, exit 1, and the application files and the
// version record untouched.
func TestMicroPythonRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		stage func(t *testing.T, w *world, b *board)
		msg   string
	}{
		{"root key not pinned", func(t *testing.T, w *world, b *board) {
			other := filepath.Join(w.dir, "otherkeys")
			mustRun(t, "ferry", "keygen", "--out", other)
			w.release("2.0", v2, forBoth...)
			b.pin(filepath.Join(other, "root.pub"))
		}, "root.pub of this origin's publisher"},
		{"rollback: the origin replays an old pointer", func(t *testing.T, w *world, b *board) {
			old := w.readOrigin(layout.Channel("stable"))
			w.release("2.0", v2, forBoth...)
			b.updated("1.0", "2.0", 4)
			w.writeOrigin(layout.Channel("stable"), old)
		}, "older than the installed 2.0"},
		{"freeze: expired pointer", func(t *testing.T, w *world, b *board) {
			w.release("2.0", v2, append([]string{"--expires", "1s"}, forBoth...)...)
			time.Sleep(1500 * time.Millisecond)
		}, "expired"},
		{"tampered blob", func(t *testing.T, w *world, b *board) {
			w.release("2.0", v2, forBoth...)
			os.RemoveAll(filepath.Join(w.origin, "deltas"))
			tamperBlobs(t, w, v2["main.py"])
		}, "main.py: "},
		{"mix and match: another release's manifest", func(t *testing.T, w *world, b *board) {
			w.release("2.0", v2, forBoth...)
			os.RemoveAll(filepath.Join(w.origin, "deltas"))
			w.writeOrigin(layout.Manifest("2.0"), w.readOrigin(layout.Manifest("1.0")))
		}, "the signed channel pointer names"},
		{"mix and match: another channel's pointer", func(t *testing.T, w *world, b *board) {
			w.release("2.0", v2, append([]string{"--channel", "beta"}, forBoth...)...)
			w.writeOrigin(layout.Channel("stable"), w.readOrigin(layout.Channel("beta")))
		}, "names channel 'beta'"},
		{"tampered update bundle", func(t *testing.T, w *world, b *board) {
			w.release("2.0", v2, forBoth...)
			tamperMBundle(t, w, "a,b\n1,2\n", "a,b\n1,3\n")
		}, ".mbundle: makes a manifest note the signed channel pointer does not name"},
		{"file list over max_files", func(t *testing.T, w *world, b *board) {
			w.release("2.0", v2, forBoth...)
			b.config(map[string]any{"max_files": 3})
		}, "max_files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			b := newBoard(t, w, nil)
			w.release("1.0", v1, forBoth...)
			b.updated("(none)", "1.0", len(v1))
			tc.stage(t, w, b)
			before := b.files(false)
			res := b.run("update")
			line := lastLine(res.Stderr + res.Stdout)
			if res.Code != 1 || !strings.Contains(line, tc.msg) {
				t.Fatalf("want exit 1 and a line saying %q; %s", tc.msg, res)
			}
			after := b.files(false)
			for _, p := range diff(before, after) {
				switch p {
				case ".ferry/last-check", ".ferry/health.log", ".ferry/health.log.1":
				default:
					t.Errorf("%s changed on a refused update", p)
				}
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// tamperBlobs replaces every blob of content (whatever its encoding) with
// other bytes.
func tamperBlobs(t *testing.T, w *world, content string) {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	h := hex.EncodeToString(sum[:])
	n := 0
	filepath.WalkDir(filepath.Join(w.origin, "blobs"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.Contains(e.Name(), h) {
			n++
			return os.WriteFile(p, []byte("(tampered)"), 0o644)
		}
		return err
	})
	if n == 0 {
		t.Fatalf("no blob of %s found under blobs/", h)
	}
}

// keyList2 writes, signed by the root key, the format-2 signing-key list
// (keys/signing-keys-2.note) with version and the keys of the format-1 list
// the publisher wrote, as a publisher of issue #19 does.
func (w *world) keyList2(version int) {
	w.t.Helper()
	text, err := trust.NoteText(w.readOrigin(layout.SigningKeys))
	if err != nil {
		w.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	list := fmt.Sprintf("ferry-signing-keys 2\n%s\nversion %d\n%s\n", lines[1], version, strings.Join(lines[2:], "\n"))
	root, err := os.ReadFile(filepath.Join(w.keys, "root-1.key"))
	if err != nil {
		w.t.Fatal(err)
	}
	note, err := trust.Sign([]byte(list), strings.TrimSpace(string(root)))
	if err != nil {
		w.t.Fatal(err)
	}
	w.writeOrigin(keysList2, note)
}

const keysList2 = "keys/signing-keys-2.note"

// TestMicroPythonRetiredKey: after a rotation that retires a signing key, an
// attacker holding that key and the old key list (root-signed and not
// expired) cannot make the board take a pointer it signs: the old format-2
// list has a lower version than the board trusts, and the format-1 list is
// refused once a format-2 list was verified.
func TestMicroPythonRetiredKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := newBoard(t, w, nil)
	w.release("1.0", v1, forBoth...)
	w.keyList2(1)
	b.updated("(none)", "1.0", len(v1))
	oldList2, oldList1 := w.readOrigin(keysList2), w.readOrigin(layout.SigningKeys)

	mustRun(t, "ferry", "keys", "rotate", "--keys", w.keys, "--retire", "ferry-signing-1")
	w.release("2.0", v2, forBoth...)
	w.keyList2(2)
	b.updated("1.0", "2.0", 4)
	list2 := w.readOrigin(keysList2)

	// The retired key (signing-1.key stays on disk) signs a pointer back to
	// 1.0 at a new sequence, and the origin serves the old lists.
	w.writeOrigin(layout.Channel("stable"), w.signedPointer("1.0", 3))
	for _, tc := range []struct {
		name  string
		stage func()
		msg   string
	}{
		{"old format-2 list", func() { w.writeOrigin(keysList2, oldList2) }, "signing-key list version 1 is older than 2 already trusted"},
		{"format-1 list only", func() {
			os.Remove(filepath.Join(w.origin, keysList2))
			w.writeOrigin(layout.SigningKeys, oldList1)
		}, "format 1 is refused"},
		{"current list", func() { w.writeOrigin(keysList2, list2) }, "signed by ferry-signing-1"},
	} {
		tc.stage()
		before := b.files(false)
		res := b.run("update")
		if line := lastLine(res.Stderr + res.Stdout); res.Code != 1 || !strings.Contains(line, tc.msg) {
			t.Errorf("%s: want exit 1 and a line saying %q; %s", tc.name, tc.msg, res)
		}
		for _, p := range diff(before, b.files(false)) {
			if p != ".ferry/last-check" && !strings.HasPrefix(p, ".ferry/health.log") {
				t.Errorf("%s: %s changed on a refused update", tc.name, p)
			}
		}
	}
}

// flakyOrigin is a proxy in front of an origin: the first request for each
// path fails (a 503 with Retry-After for notes, a body cut in the middle for
// everything else), later ones pass through; with endless set, the channel
// pointer is an endless body.
type flakyOrigin struct {
	mu      sync.Mutex
	seen    map[string]bool
	target  string
	endless bool
}

func (f *flakyOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	first := !f.seen[r.URL.Path]
	f.seen[r.URL.Path] = true
	endless := f.endless
	f.mu.Unlock()
	if endless && strings.HasPrefix(r.URL.Path, "/channels/") {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("ferry-channel 1\n", 256))
		for range 1 << 12 { // 16 MiB, far over any cap
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		return
	}
	if first && strings.HasSuffix(r.URL.Path, ".note") {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, f.target+r.URL.Path, nil)
	for _, h := range []string{"Range", "If-None-Match", "If-Modified-Since"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, h := range []string{"ETag", "Last-Modified", "Content-Range"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	if first && !strings.HasSuffix(r.URL.Path, ".note") && resp.StatusCode == http.StatusOK && len(body) > 1 {
		// Announce the whole body, send half of it, and drop the connection.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		if hj, ok := w.(http.Hijacker); ok {
			w.(http.Flusher).Flush()
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// TestMicroPythonHostileNetwork: through an origin whose every first answer
// fails (503 with Retry-After, bodies cut in the middle), the board retries,
// resumes and installs the release; an endless channel pointer is refused
// at the board's cap, the flash untouched.
func TestMicroPythonHostileNetwork(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	proxy := &flakyOrigin{seen: map[string]bool{}, target: strings.TrimSuffix(w.url, "/")}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	b := newBoard(t, w, map[string]any{"origin": srv.URL + "/", "http_retries": 3, "backoff_sec": 0, "max_backoff_sec": 2})
	big := tree{"main.py": "print(1)\n", "lib/data.py": strings.Repeat("DATA = [1, 2, 3]\n", 3000)}
	w.release("1.0", big, "--for", "micropython")
	b.updated("(none)", "1.0", 2)
	if got := b.files(true); len(diff(got, contents(big))) != 0 {
		t.Fatalf("after 1.0: differs in %v", diff(got, contents(big)))
	}

	w.release("2.0", v2, "--for", "micropython")
	proxy.mu.Lock()
	proxy.endless = true
	proxy.mu.Unlock()
	before := b.files(false)
	res := b.run("update")
	if line := lastLine(res.Stderr + res.Stdout); res.Code != 1 || !strings.Contains(line, "channels/stable.note") {
		t.Fatalf("endless pointer: want exit 1 naming channels/stable.note; %s", res)
	}
	for _, p := range diff(before, b.files(false)) {
		if p != ".ferry/last-check" && !strings.HasPrefix(p, ".ferry/health.log") {
			t.Errorf("%s changed on a refused update", p)
		}
	}
}
