package e2e

// The MicroPython board against real releases: `ferry release --for
// linux,micropython` into an origin that `ferry serve` serves on 127.0.0.1,
// and the board code run in real MicroPython by `micropython/run DIR ...`
// (DIR is the board's flash, DIR/ferry.json its config).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/mpyrun"
	"github.com/ferry-ota/ferry/internal/trust"
)

// forBoth makes a release that both the Linux agent and the board decode.
var forBoth = []string{"--for", "linux,micropython"}

// board is a MicroPython board whose flash is the folder dir.
type board struct {
	t   *testing.T
	w   *world
	r   *mpyrun.Runner
	dir string
}

// newBoard sets up a flash with root.pub and ferry.json; extra keys are
// merged into the config.
func newBoard(t *testing.T, w *world, extra map[string]any) *board {
	t.Helper()
	b := &board{t: t, w: w, r: mpyrun.Need(t), dir: filepath.Join(w.dir, "board")}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.pin(filepath.Join(w.keys, "root.pub"))
	b.config(extra)
	return b
}

func (b *board) pin(rootPub string) {
	b.t.Helper()
	data, err := os.ReadFile(rootPub)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "root.pub"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *board) config(extra map[string]any) {
	b.t.Helper()
	c := map[string]any{"origin": b.w.url, "root_keys": []string{"/root.pub"},
		"http_retries": 1, "backoff_sec": 0, "max_backoff_sec": 1}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	data, _ := json.Marshal(c)
	if err := os.WriteFile(filepath.Join(b.dir, "ferry.json"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *board) run(args ...string) mpyrun.Result {
	b.t.Helper()
	return b.r.Run(b.t, b.dir, args...)
}

func (b *board) mustRun(args ...string) string {
	b.t.Helper()
	res := b.run(args...)
	if res.Code != 0 {
		b.t.Fatalf("micropython/run %s: %s", strings.Join(args, " "), res)
	}
	return res.Stdout
}

// files returns every file on the flash, path → content; with app, only the
// application's (not .ferry/, ferry.json, root.pub).
func (b *board) files(app bool) map[string]string {
	b.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(b.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(b.dir, p)
		rel = filepath.ToSlash(rel)
		if app && (strings.HasPrefix(rel, ".ferry") || rel == "ferry.json" || rel == "root.pub") {
			return nil
		}
		data, err := os.ReadFile(p)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

func contents(files tree) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		out[p] = c
	}
	return out
}

// diff names the paths whose content differs between a and b.
func diff(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k)
		}
	}
	return d
}

var updatedLine = regexp.MustCompile(`^updated (\S+) -> (\S+) \((\d+) files, (\d+) bytes\)$`)

// updated runs an update that must install to and returns the bytes it
// downloaded, then confirms the release (it boots on trial).
func (b *board) updated(from, to string, files int) int64 {
	b.t.Helper()
	res := b.run("update")
	line := strings.TrimSpace(res.Stdout)
	m := updatedLine.FindStringSubmatch(line)
	if res.Code != 0 || m == nil || m[1] != from || m[2] != to || m[3] != strconv.Itoa(files) {
		b.t.Fatalf("update to %s: want \"updated %s -> %s (%d files, M bytes)\"; %s", to, from, to, files, res)
	}
	if out := b.mustRun("confirm"); !strings.Contains(out, "confirmed "+to) {
		b.t.Fatalf("confirm: %q", out)
	}
	n, _ := strconv.ParseInt(m[4], 10, 64)
	return n
}

// linuxBytes returns the bytes the Linux agent downloaded in an update line.
func linuxBytes(t *testing.T, r result) int64 {
	t.Helper()
	m := updatedLine.FindStringSubmatch(strings.TrimSpace(r.stdout))
	if r.code != 0 || m == nil {
		t.Fatalf("linux agent: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	n, _ := strconv.ParseInt(m[4], 10, 64)
	return n
}

// TestMicroPythonEndToEnd: a fresh install, an update with adds, changes and
// deletes, and a no-op poll that writes nothing but the last-check record;
// the bytes the board downloads are compared with the Linux agent's.
func TestMicroPythonEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := newBoard(t, w, nil)
	w.release("1.0", v1, forBoth...)
	nb := b.updated("(none)", "1.0", len(v1))
	if got := b.files(true); len(diff(got, contents(v1))) != 0 {
		t.Fatalf("after 1.0: differs in %v", diff(got, contents(v1)))
	}
	nl := linuxBytes(t, w.update())
	t.Logf("fresh install of 1.0: board %d bytes, linux agent %d bytes", nb, nl)

	w.release("2.0", v2, forBoth...)
	nb = b.updated("1.0", "2.0", 4)
	if got := b.files(true); len(diff(got, contents(v2))) != 0 {
		t.Fatalf("after 2.0: differs in %v", diff(got, contents(v2)))
	}
	if _, err := os.Stat(filepath.Join(b.dir, "lib", "old")); !os.IsNotExist(err) {
		t.Errorf("emptied folder lib/old still there: %v", err)
	}
	nl = linuxBytes(t, w.update())
	t.Logf("update 1.0 -> 2.0: board %d bytes, linux agent %d bytes", nb, nl)

	before := b.files(false)
	res := b.run("update")
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "up to date (2.0)" {
		t.Fatalf("no-op: %s", res)
	}
	after := b.files(false)
	if d := diff(before, after); len(d) != 1 || d[0] != ".ferry/last-check" {
		t.Fatalf("a no-op poll changed %v; want only .ferry/last-check", d)
	}
	if n := len(after[".ferry/last-check"]); n > 64 {
		t.Errorf("last-check record is %d bytes, want <= 64", n)
	}
	st := b.mustRun("status")
	for _, s := range []string{"installed:     2.0 (channel stable, sequence 2", "transaction:   none", "clock:         set"} {
		if !strings.Contains(st, s) {
			t.Errorf("status lacks %q:\n%s", s, st)
		}
	}
}

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

// TestMicroPythonPeakHeap: the live heap during an update of a 200-file
// release with a 1 MiB file stays within 64 KB over the imported package,
// measured in MicroPython with gc.mem_alloc() after a collection between
// every step of the cycle (micropython/tests/heap_update.mjs: this port
// collects garbage only between top-level calls).
func TestMicroPythonPeakHeap(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	w := newWorld(t)
	big := tree{}
	for i := range 199 {
		big[fmt.Sprintf("lib/m%03d.py", i)] = strings.Repeat(fmt.Sprintf("x_%d = %d\n", i, i), 40)
	}
	mb := make([]byte, 1<<20)
	for i := range mb {
		mb[i] = byte(i*7919>>5) ^ byte(i>>11)
	}
	big["data/blob.bin"] = string(mb)
	w.release("1.0", big, "--for", "micropython")
	res := r.Command(t, r.Node, filepath.Join(r.Root, "micropython", "tests", "heap_update.mjs"),
		w.url, filepath.Join(w.keys, "root.pub"), `{"max_total_mb": 4}`)
	if res.Code != 0 || !strings.Contains(res.Stdout, "updated (none) -> 1.0 (200 files, ") {
		t.Fatalf("heap_update.mjs: %s", res)
	}
	m := regexp.MustCompile(`heap: baseline (\d+) bytes .*, peak (\d+) bytes over (\d+) steps`).FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("no heap line: %s", res)
	}
	base, _ := strconv.Atoi(m[1])
	peak, _ := strconv.Atoi(m[2])
	steps, _ := strconv.Atoi(m[3])
	t.Logf("live heap: %d bytes with the package imported; peak %d bytes over %d steps: the update's own %d bytes", base, peak, steps, peak-base)
	if steps < 200 {
		t.Errorf("%d steps: want one at least per file", steps)
	}
	if peak-base > 64<<10 {
		t.Errorf("the update's live heap peaked at %d bytes over the package's, want <= %d", peak-base, 64<<10)
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

// TestMicroPythonGitHubStable: a board follows the stable channel of a
// GitHub repository (the fake GitHub): releases uploaded by `ferry release
// --github` are installed from the release assets and verified against the
// pinned root key; a poll with nothing new is one conditional request (304).
func TestMicroPythonGitHubStable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	srv := fakegh.New(t, "acme", "app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	token := filepath.Join(w.dir, "token")
	if err := os.WriteFile(token, []byte("ghp_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gh := func(tag string) []string {
		return append([]string{"--github", "acme/app", "--tag", tag, "--token-file", token, "--github-api", srv.URL}, forBoth...)
	}
	b := newBoard(t, w, nil)
	b.config(map[string]any{"origin": nil, "github": map[string]any{"owner": "acme", "repo": "app", "api_url": srv.URL}})
	w.release("1.0", v1, gh("v1.0")...)
	b.updated("(none)", "1.0", len(v1))
	if got := b.files(true); len(diff(got, contents(v1))) != 0 {
		t.Fatalf("after 1.0: differs in %v", diff(got, contents(v1)))
	}

	srv.ResetStats()
	res := b.run("update")
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "up to date (1.0)" {
		t.Fatalf("no-op: %s", res)
	}
	if st := srv.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("a no-change poll made %d requests (%d answered 304), want one 304", st.Requests, st.NotModified)
	}

	w.release("2.0", v2, gh("v2.0")...)
	b.updated("1.0", "2.0", 4)
	if got := b.files(true); len(diff(got, contents(v2))) != 0 {
		t.Fatalf("after 2.0: differs in %v", diff(got, contents(v2)))
	}
}

// TestMicroPythonGitHubDeveloper: a board follows the head of a branch of a
// GitHub repository (the fake GitHub), unsigned (allow_unsigned), each file
// checked by its git blob SHA-1; subdir picks the application's folder; a
// poll with nothing new is one conditional request (304); a new commit adds,
// changes and deletes files; a file whose content is not its git SHA-1 is
// refused.
func TestMicroPythonGitHubDeveloper(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	repo := fakegh.InitRepo(t, map[string]string{"README.md": "docs\n", "app/main.py": "print(1)\n", "app/lib/a.py": "A = 1\n", "app/lib/old.py": "bye\n"})
	srv := fakegh.New(t, "acme", "app", repo)
	b := newBoard(t, w, nil)
	b.config(map[string]any{"origin": nil, "root_keys": nil, "github": map[string]any{"owner": "acme", "repo": "app",
		"channel": "developer", "allow_unsigned": true, "subdir": "app", "api_url": srv.URL, "raw_url": srv.RawURL}})
	head := fakegh.Git(t, repo, "rev-parse", "HEAD")[:12]
	b.updated("(none)", head, 3)
	v1 := map[string]string{"main.py": "print(1)\n", "lib/a.py": "A = 1\n", "lib/old.py": "bye\n"}
	if got := b.files(true); len(diff(got, v1)) != 0 {
		t.Fatalf("after %s: differs in %v", head, diff(got, v1))
	}

	srv.ResetStats()
	res := b.run("update")
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != "up to date ("+head+")" {
		t.Fatalf("no-op: %s", res)
	}
	if st := srv.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("a no-change poll made %d requests (%d answered 304), want one 304", st.Requests, st.NotModified)
	}

	next := fakegh.Commit(t, repo, map[string]string{"app/main.py": "print(2)\n", "app/data/new.csv": "a,b\n", "app/lib/old.py-": ""}, "two")[:12]
	b.updated(head, next, 3)
	v2 := map[string]string{"main.py": "print(2)\n", "lib/a.py": "A = 1\n", "data/new.csv": "a,b\n"}
	if got := b.files(true); len(diff(got, v2)) != 0 {
		t.Fatalf("after %s: differs in %v", next, diff(got, v2))
	}

	// The raw file is not the content the tree names: refused, flash untouched.
	fakegh.Commit(t, repo, map[string]string{"app/main.py": "print(3)\n"}, "three")
	tamper := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(srv.RawURL + strings.TrimPrefix(r.URL.Path, "/raw"))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		data[0] ^= 1 // the same size, other content
		rw.Write(data)
	}))
	t.Cleanup(tamper.Close)
	b.config(map[string]any{"origin": nil, "root_keys": nil, "github": map[string]any{"owner": "acme", "repo": "app",
		"channel": "developer", "allow_unsigned": true, "subdir": "app", "api_url": srv.URL, "raw_url": tamper.URL + "/raw"}})
	before := b.files(false)
	res = b.run("update")
	if line := lastLine(res.Stderr + res.Stdout); res.Code != 1 || !strings.Contains(line, "main.py") {
		t.Fatalf("tampered raw file: want exit 1 naming main.py; %s", res)
	}
	for _, p := range diff(before, b.files(false)) {
		if p != ".ferry/last-check" && !strings.HasPrefix(p, ".ferry/health.log") {
			t.Errorf("%s changed on a refused update", p)
		}
	}
}

// TestMicroPythonPatch: a large file edited in place reaches the board as a
// .mpatch applied to the file it holds, far smaller than the file's blob.
func TestMicroPythonPatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := newBoard(t, w, nil)
	var text strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&text, "def handler_%d(event):\n    return event.get(%q, %d)\n", i, fmt.Sprintf("key%d", i*7), i*i)
	}
	one := tree{"main.py": "print(1)\n", "lib/big.py": text.String()}
	w.release("1.0", one, "--for", "micropython")
	b.updated("(none)", "1.0", 2)
	two := tree{"main.py": "print(1)\n", "lib/big.py": strings.Replace(text.String(), "handler_1500(", "handler_1500b(", 1)}
	w.release("2.0", two, "--for", "micropython")
	n := b.updated("1.0", "2.0", 1)
	if got := b.files(true); len(diff(got, contents(two))) != 0 {
		t.Fatalf("after 2.0: differs in %v", diff(got, contents(two)))
	}
	sum := sha256.Sum256([]byte(two["lib/big.py"]))
	blob := w.readOrigin(fmt.Sprintf("blobs/sha256/%x/%x.z", sum[:1], sum))
	t.Logf("update of a %d-byte file edited in place: %d bytes downloaded; its .z blob is %d bytes", len(two["lib/big.py"]), n, len(blob))
	if n >= int64(len(blob)) {
		t.Errorf("downloaded %d bytes, not less than the blob's %d: the patch was not used", n, len(blob))
	}
}

// TestMicroPythonRollback: a release on trial that the application rolls
// back (ferry.rollback()) leaves the previous release's files, and the board
// does not take that release again; a newer one it takes.
func TestMicroPythonRollback(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := newBoard(t, w, nil)
	w.release("1.0", v1, "--for", "micropython")
	b.updated("(none)", "1.0", len(v1))
	w.release("2.0", v2, "--for", "micropython")
	if res := b.run("update"); res.Code != 0 || !strings.HasPrefix(res.Stdout, "updated 1.0 -> 2.0 ") {
		t.Fatalf("update: %s", res)
	}
	if out := b.mustRun("rollback"); strings.TrimSpace(out) != "rolled back 2.0 -> 1.0" {
		t.Fatalf("rollback: %q", out)
	}
	if got := b.files(true); len(diff(got, contents(v1))) != 0 {
		t.Fatalf("after the rollback: differs in %v", diff(got, contents(v1)))
	}
	res := b.run("update")
	if res.Code != 0 || !strings.Contains(res.Stdout, "deferred 2.0 (release 2.0 failed its trial") {
		t.Fatalf("update after the rollback: want 2.0 deferred; %s", res)
	}
	if st := b.mustRun("status"); !strings.Contains(st, "failed:        2.0") || !strings.Contains(st, "last rollback:") {
		t.Errorf("status does not show the failed release:\n%s", st)
	}
	w.release("3.0", v2, "--for", "micropython")
	b.updated("1.0", "3.0", 4)
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
