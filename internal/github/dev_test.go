package github

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/google/go-cmp/cmp"
)

var devFiles = map[string]string{
	"app/main.py":          "print('hello')\n",
	"app/lib/util.py":      "x = 1\n",
	"bin/run.sh*":          "#!/bin/sh\nexec python3 app/main.py\n",
	"docs/readme.md":       "# docs\n",
	"empty.txt":            "",
	"app/lib/deep/more.py": "y = 2\n",
}

// wantFiles lists what git says of each blob below prefix: path (prefix
// stripped), mode, size and blob SHA-1.
func wantFiles(t *testing.T, dir, prefix string, keep func(string) bool) []manifest.File {
	t.Helper()
	var out []manifest.File
	for _, rec := range strings.Split(strings.TrimSuffix(fakegh.Git(t, dir, "ls-tree", "-r", "-l", "-z", "HEAD"), "\x00"), "\x00") {
		meta, p, _ := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		rel, ok := strings.CutPrefix(p, prefix)
		if f[1] != "blob" || f[0] == "120000" || !ok || (keep != nil && !keep(rel)) {
			continue
		}
		mf := manifest.File{Path: rel, Mode: 0o644}
		if f[0] == "100755" {
			mf.Mode = 0o755
		}
		mf.Size, _ = strconv.ParseInt(f[3], 10, 64)
		mf.ZSize = mf.Size
		hex.Decode(mf.GitSHA1[:], []byte(f[2]))
		out = append(out, mf)
	}
	return out
}

func TestDevRelease(t *testing.T) {
	t.Parallel()
	allowLib := func(p string) bool { return !strings.HasPrefix(p, "lib/deep/") }
	tests := []struct {
		name       string
		subdir     string
		allow      func(string) bool
		truncateAt int
	}{
		{name: "whole repository"},
		{name: "subdir", subdir: "app"},
		{name: "subdir and allow", subdir: "/app/", allow: allowLib},
		{name: "truncated tree", truncateAt: 3},
		{name: "truncated tree and subdir", subdir: "app/lib", truncateAt: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, srv, _ := fakeClient(t, devFiles, func(g *config.GitHub, o *Options) { g.Subdir = tt.subdir; o.Allow = tt.allow })
			srv.SetTruncateAt(tt.truncateAt)
			m, err := c.DevRelease(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			head := strings.TrimSpace(fakegh.Git(t, srv.Dir, "rev-parse", "HEAD"))
			prefix := strings.Trim(tt.subdir, "/")
			if prefix != "" {
				prefix += "/"
			}
			want := wantFiles(t, srv.Dir, prefix, tt.allow)
			if diff := cmp.Diff(want, m.Files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if m.Version != head[:12] || m.Channel != "developer" || m.Sequence != 0 || m.Signed() {
				t.Errorf("manifest header: version %q channel %q sequence %d signed %v", m.Version, m.Channel, m.Sequence, m.Signed())
			}
			if _, err := m.Marshal(); err != nil {
				t.Errorf("Marshal: %v", err)
			}
			if tt.truncateAt > 0 && srv.Stats().ByRoute["GET /repos/{owner}/{repo}/git/trees/{sha}"] < 2 {
				t.Error("a truncated tree was not walked")
			}
		})
	}
}

func TestDevReleaseSkipsLinksAndSubmodules(t *testing.T) {
	t.Parallel()
	dir := fakegh.InitRepo(t, map[string]string{"a.txt": "a\n"})
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	head := fakegh.Commit(t, dir, map[string]string{".ferry-state/x": "x", "b.txt": "b\n"}, "link, reserved")
	fakegh.Git(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+head+",sub")
	fakegh.Git(t, dir, "commit", "-q", "-m", "submodule")
	c, _, log := clientFor(t, fakegh.New(t, "acme", "sensor-app", dir), nil)
	m, err := c.DevRelease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"a.txt", "b.txt"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	for _, want := range []string{"path=link", "path=sub", "path=.ferry-state/x"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log has no warning with %q:\n%s", want, log)
		}
	}
}

func TestDevReleaseUnchangedHeadIsOne304(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, srv, _ := fakeClient(t, devFiles, nil)
	first, err := c.DevRelease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetStats()
	again, err := c.DevRelease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("unchanged head: %d requests, %d not modified; want one 304", st.Requests, st.NotModified)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("manifest changed (-first +again):\n%s", diff)
	}
	fakegh.Commit(t, srv.Dir, map[string]string{"app/main.py": "print('v2')\n"}, "v2")
	next, err := c.DevRelease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.Version == first.Version {
		t.Errorf("new head: version still %q", next.Version)
	}
}

func TestOpenRawVerifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, raw := range []string{"raw host", "contents API"} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			c, _, _ := fakeClient(t, devFiles, func(g *config.GitHub, _ *Options) {
				g.Subdir = "app"
				if raw == "contents API" {
					g.RawURL = ""
				}
			})
			m, err := c.DevRelease(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range m.Files {
				rc, err := c.OpenRaw(ctx, m.Version, f.Path)
				if err != nil {
					t.Fatal(err)
				}
				h, want := f.NewHash()
				n, err := io.Copy(h, rc)
				rc.Close()
				if err != nil || n != f.Size || !bytes.Equal(h.Sum(nil), want) {
					t.Errorf("%s: %d bytes, %v; git SHA-1 mismatch or short", f.Path, n, err)
				}
			}
			if _, err := c.OpenRaw(ctx, m.Version, "nope.py"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing file: error = %v, want ErrNotFound", err)
			}
			if _, err := c.OpenRaw(ctx, m.Version, "../x"); !errors.Is(err, manifest.ErrPath) {
				t.Errorf("bad path: error = %v, want ErrPath", err)
			}
		})
	}
}

func TestUnsignedRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, srv, _ := fakeClient(t, devFiles, nil)
	fakegh.Git(t, srv.Dir, "tag", "-a", "-m", "v1", "v1.0.0")
	fakegh.Commit(t, srv.Dir, map[string]string{"app/main.py": "print('later')\n"}, "after the tag")
	srv.AddRelease("v1.0.0")
	m, err := c.UnsignedRelease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := m.Lookup("app/main.py")
	if !ok || f.Size != int64(len(devFiles["app/main.py"])) || m.Version != "v1.0.0" || m.Channel != "stable" {
		t.Errorf("manifest %s/%s, app/main.py %+v: want the tagged tree", m.Channel, m.Version, f)
	}
	rc, err := c.OpenRaw(ctx, m.Version, "app/main.py")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != devFiles["app/main.py"] {
		t.Errorf("raw at the tag = %q", b)
	}
}
