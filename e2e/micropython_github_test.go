package e2e

// The MicroPython board following a GitHub repository (the fake GitHub).

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
)

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
