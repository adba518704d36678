package fakegh

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// git runs git in the served repository.
func (s *Server) git(args ...string) ([]byte, error) {
	return runGit(s.Dir, args...)
}

func runGit(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Fake", "GIT_AUTHOR_EMAIL=fake@example.com", "GIT_COMMITTER_NAME=Fake", "GIT_COMMITTER_EMAIL=fake@example.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func (s *Server) objURL(kind, sha string) string {
	return fmt.Sprintf("%s/repos/%s/%s/git/%s/%s", s.URL, s.Owner, s.Repo, kind, sha)
}

func (s *Server) getRef(r *http.Request) answer {
	ref := "refs/" + r.PathValue("ref")
	out, err := s.git("rev-parse", "--verify", "-q", ref)
	if err != nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	sha := strings.TrimSpace(string(out))
	typ, err := s.git("cat-file", "-t", sha)
	if err != nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	kind := strings.TrimSpace(string(typ))
	return answer{status: http.StatusOK, body: map[string]any{
		"ref": ref, "node_id": "REF_fake", "url": fmt.Sprintf("%s/repos/%s/%s/git/%s", s.URL, s.Owner, s.Repo, ref),
		"object": map[string]string{"sha": sha, "type": kind, "url": s.objURL(kind+"s", sha)},
	}}
}

func (s *Server) getCommit(r *http.Request) answer {
	sha := r.PathValue("sha")
	out, err := s.git("cat-file", "commit", sha)
	if err != nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	head, msg, _ := strings.Cut(string(out), "\n\n")
	c := map[string]any{"sha": sha, "node_id": "C_fake", "url": s.objURL("commits", sha),
		"html_url": fmt.Sprintf("https://github.com/%s/%s/commit/%s", s.Owner, s.Repo, sha), "message": msg,
		"verification": map[string]any{"verified": false, "reason": "unsigned"}}
	var parents []map[string]string
	for _, l := range strings.Split(head, "\n") {
		key, val, _ := strings.Cut(l, " ")
		switch key {
		case "tree":
			c["tree"] = map[string]string{"sha": val, "url": s.objURL("trees", val)}
		case "parent":
			parents = append(parents, map[string]string{"sha": val, "url": s.objURL("commits", val)})
		case "author", "committer":
			c[key] = signature(val)
		}
	}
	c["parents"] = parents
	return answer{status: http.StatusOK, body: c}
}

// signature turns git's "Name <email> 1700000000 +0000" into GitHub's shape.
func signature(v string) map[string]any {
	name, rest, _ := strings.Cut(v, " <")
	email, when, _ := strings.Cut(rest, "> ")
	secs, _, _ := strings.Cut(when, " ")
	n, _ := strconv.ParseInt(secs, 10, 64)
	return map[string]any{"name": name, "email": email, "date": time.Unix(n, 0).UTC()}
}

func (s *Server) getTag(r *http.Request) answer {
	sha := r.PathValue("sha")
	out, err := s.git("cat-file", "tag", sha)
	if err != nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	t := map[string]any{"sha": sha, "url": s.objURL("tags", sha)}
	obj := map[string]string{}
	head, msg, _ := strings.Cut(string(out), "\n\n")
	for _, l := range strings.Split(head, "\n") {
		key, val, _ := strings.Cut(l, " ")
		switch key {
		case "object":
			obj["sha"], obj["url"] = val, s.objURL("commits", val)
		case "type":
			obj["type"] = val
		case "tag":
			t["tag"] = val
		}
	}
	t["object"], t["message"] = obj, msg
	return answer{status: http.StatusOK, body: t}
}

func (s *Server) getTree(r *http.Request) answer {
	sha := r.PathValue("sha")
	args := []string{"ls-tree", "-l", "-z"}
	recursive := r.URL.Query().Get("recursive") != ""
	if recursive {
		args = append(args, "-r", "-t")
	}
	out, err := s.git(append(args, sha)...)
	if err != nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	entries := []map[string]any{}
	for _, rec := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if rec == "" {
			continue
		}
		meta, path, _ := strings.Cut(rec, "\t")
		f := strings.Fields(meta) // mode type sha size
		e := map[string]any{"path": path, "mode": f[0], "type": f[1], "sha": f[2], "url": s.objURL(f[1]+"s", f[2])}
		if n, err := strconv.ParseInt(f[3], 10, 64); err == nil {
			e["size"] = n
		}
		entries = append(entries, e)
	}
	s.mu.Lock()
	cut := s.truncateAt
	s.mu.Unlock()
	truncated := recursive && cut > 0 && len(entries) > cut
	if truncated {
		entries = entries[:cut]
	}
	return answer{status: http.StatusOK, body: map[string]any{"sha": sha, "url": s.objURL("trees", sha), "tree": entries, "truncated": truncated}}
}

// getContents serves a file's raw content with Accept:
// application/vnd.github.raw, else its metadata.
func (s *Server) getContents(r *http.Request) answer {
	ref := r.URL.Query().Get("ref")
	p := r.PathValue("path")
	out, err := s.git("cat-file", "blob", ref+":"+p)
	if err != nil {
		return errAnswer(http.StatusNotFound, "Not Found")
	}
	if strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.github.raw") {
		return answer{status: http.StatusOK, raw: out}
	}
	sha, _ := s.git("rev-parse", ref+":"+p)
	return answer{status: http.StatusOK, body: map[string]any{"type": "file", "name": filepath.Base(p), "path": p,
		"sha": strings.TrimSpace(string(sha)), "size": len(out)}}
}

func (s *Server) serveRaw(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("owner") != s.Owner || r.PathValue("repo") != s.Repo {
		http.NotFound(w, r)
		return
	}
	out, err := s.git("cat-file", "blob", r.PathValue("sha")+":"+r.PathValue("path"))
	if err != nil {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	// Like raw.githubusercontent.com: Range is honoured.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(out))
}

// InitRepo makes a git repository in a new temporary folder, commits files
// (path → content; a path ending in "*" is made executable, without the
// star) on branch main, and returns the folder.
func InitRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	mustGit(t, dir, "init", "-q", "-b", "main")
	Commit(t, dir, files, "initial")
	return dir
}

// Commit writes files (as InitRepo; an empty content with path ending "-"
// deletes the file, without the dash) into the repository at dir, commits
// them all, and returns the commit SHA.
func Commit(t testing.TB, dir string, files map[string]string, msg string) string {
	t.Helper()
	for p, content := range files {
		if name, ok := strings.CutSuffix(p, "-"); ok {
			mustGit(t, dir, "rm", "-q", "--", name)
			continue
		}
		name, exec := strings.CutSuffix(p, "*")
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if exec {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	mustGit(t, dir, "add", "-A")
	mustGit(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return strings.TrimSpace(string(mustGit(t, dir, "rev-parse", "HEAD")))
}

// Git runs git in dir and returns its output, failing the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return string(mustGit(t, dir, args...))
}

func mustGit(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	out, err := runGit(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
