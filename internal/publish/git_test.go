package publish

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/google/go-cmp/cmp"
)

// gitRepo creates a repository holding tr, committed and tagged v1.
func gitRepo(t *testing.T, tr tree) string {
	t.Helper()
	dir := tr.write(t)
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "v1")
	git(t, dir, "tag", "-a", "-m", "v1", "v1")
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestGitMatchesDir: a tag publishes the same manifest entries as the same
// tree from a folder, and the working tree is not read.
func TestGitMatchesDir(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	tr := tree{"app/main.py": "print('x')\n", "bin/run*": "#!/bin/sh\n", "big": strings.Repeat("ferry ", 200_000), "empty": ""}
	repo := gitRepo(t, tr)
	if err := os.WriteFile(filepath.Join(repo, "app/main.py"), []byte("uncommitted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOrigin, dirOrigin := t.TempDir(), t.TempDir()
	if _, err := release(context.Background(), Git{Repo: repo, Ref: "v1"}, gitOrigin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	if _, err := release(context.Background(), Dir{Root: tr.write(t)}, dirOrigin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	res, err := release(context.Background(), Git{Repo: repo, Ref: "v1"}, gitOrigin, "stable", "1.0", ring)
	if err != nil || !res.Unchanged || res.NewBlobs != 0 {
		t.Errorf("re-publishing the tag = %+v, %v; want unchanged, no new blobs", res, err)
	}
	_, fromGit := deviceView(t, keyDir, gitOrigin, "stable")
	_, fromDir := deviceView(t, keyDir, dirOrigin, "stable")
	if diff := cmp.Diff(fromDir.Files, fromGit.Files); diff != "" {
		t.Errorf("files from git (-dir +git):\n%s", diff)
	}
	if f, _ := fromGit.Lookup("bin/run"); f.Mode != 0o755 {
		t.Errorf("bin/run mode %v, want 0755", f.Mode)
	}
}

func TestGitRefusals(t *testing.T) {
	t.Parallel()
	_, ring := newKeys(t)
	repo := gitRepo(t, tree{"a": "a\n"})
	git(t, repo, "checkout", "-q", "-b", "links")
	if err := os.Symlink("a", filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "link")
	git(t, repo, "commit", "-q", "-m", "link")
	git(t, repo, "checkout", "-q", "-b", "sub", "v1")
	head := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "update-index", "--add", "--cacheinfo", "160000,"+head+",vendor/lib")
	git(t, repo, "commit", "-q", "-m", "submodule")
	git(t, repo, "checkout", "-q", "-b", "reserved", "v1")
	git(t, repo, "update-index", "--add", "--cacheinfo", "100644,"+git(t, repo, "rev-parse", "HEAD:a")+",x/.ferry/state")
	git(t, repo, "commit", "-q", "-m", "reserved")
	tests := []struct {
		ref     string
		want    error
		wantMsg string
	}{
		{"links", ErrUnsupported, `"link" is a symbolic link`},
		{"sub", ErrUnsupported, `"vendor/lib" is a git submodule`},
		{"reserved", manifest.ErrPath, `"x/.ferry/state"`},
		{"v9", ErrGit, `ref "v9" is not a commit`},
		{"--output=/tmp/x", ErrGit, "invalid ref"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			t.Parallel()
			_, err := release(context.Background(), Git{Repo: repo, Ref: tt.ref}, t.TempDir(), "stable", "1.0", ring)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Release(%q) = %v, want %v containing %q", tt.ref, err, tt.want, tt.wantMsg)
			}
		})
	}
}

func FuzzParseTreeLine(f *testing.F) {
	f.Add("100644 blob 0123456789abcdef0123456789abcdef01234567      12\tdir/file")
	f.Add("100755 blob 0123456789abcdef0123456789abcdef01234567 5\tx")
	f.Add("120000 blob 0123456789abcdef0123456789abcdef01234567 1\tlink")
	f.Add("160000 commit 0123456789abcdef0123456789abcdef01234567       -\tsub")
	f.Fuzz(func(t *testing.T, rec string) {
		e, err := parseTreeLine(rec)
		if err == nil && (e.Size < 0 || (e.Mode != 0o644 && e.Mode != 0o755) || e.object == "") {
			t.Errorf("parseTreeLine(%q) = %+v without an error", rec, e)
		}
	})
}
