package github

import (
	"context"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/update"
	"github.com/ferry-ota/ferry/internal/vfs"
)

func TestDevUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, srv, _ := fakeClient(t, devFiles, nil)
	mem := vfs.NewMemFS()
	for _, d := range []string{"/app", "/state"} {
		if err := mem.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in := &install.Installer{FS: mem, Target: "/app", State: "/state", Decode: update.DecodeStored(manifest.Limits{})}
	raws := func() int { return srv.Stats().ByRoute["GET /raw/{owner}/{repo}/{sha}/{path...}"] }
	check := func(files map[string]string) {
		t.Helper()
		for p, want := range files {
			got, err := mem.ReadFile("/app/" + strings.TrimSuffix(p, "*"))
			if err != nil || string(got) != want {
				t.Errorf("/app/%s = %q, %v; want %q", p, got, err, want)
			}
		}
	}
	res, err := c.DevUpdate(ctx, in, install.Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(devFiles)
	if res.Added != len(devFiles) || raws() != len(devFiles)-1 { // the empty file needs no download
		t.Errorf("first install: %d added, %d raw downloads", res.Added, raws())
	}
	srv.ResetStats()
	if res, err = c.DevUpdate(ctx, in, install.Options{}); err != nil || !res.UpToDate {
		t.Fatalf("unchanged head: %+v, %v; want up to date", res, err)
	}
	if st := srv.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("unchanged head: %d requests, want one 304", st.Requests)
	}
	fakegh.Commit(t, srv.Dir, map[string]string{"app/main.py": "print('v2')\n", "docs/readme.md-": ""}, "v2")
	srv.ResetStats()
	if res, err = c.DevUpdate(ctx, in, install.Options{}); err != nil {
		t.Fatal(err)
	}
	if res.Replaced != 1 || res.Deleted != 1 || raws() != 1 {
		t.Errorf("update: %d replaced, %d deleted, %d raw downloads; want 1, 1, 1", res.Replaced, res.Deleted, raws())
	}
	check(map[string]string{"app/main.py": "print('v2')\n"})
	if _, err := mem.ReadFile("/app/docs/readme.md"); err == nil {
		t.Error("a file deleted on the branch is still in the target")
	}
	rec, err := in.Installed()
	if err != nil || rec.Channel != "developer" || rec.Version != strings.TrimSpace(fakegh.Git(t, srv.Dir, "rev-parse", "HEAD"))[:12] {
		t.Errorf("record %+v, %v", rec, err)
	}
}

// TestDevUpdateKeepsMatchingFiles: on a device whose target already holds
// the branch's files (say, from a clone), nothing is downloaded.
func TestDevUpdateKeepsMatchingFiles(t *testing.T) {
	t.Parallel()
	c, srv, _ := fakeClient(t, devFiles, nil)
	mem := vfs.NewMemFS()
	for p, data := range devFiles {
		p = "/app/" + strings.TrimSuffix(p, "*")
		if err := mem.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := mem.MkdirAll("/state", 0o755); err != nil {
		t.Fatal(err)
	}
	in := &install.Installer{FS: mem, Target: "/app", State: "/state", Decode: update.DecodeStored(manifest.Limits{})}
	res, err := c.DevUpdate(context.Background(), in, install.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().ByRoute["GET /raw/{owner}/{repo}/{sha}/{path...}"]; n != 0 || res.Bytes != 0 {
		t.Errorf("%d raw downloads, %d bytes staged; want none: the files on disk have the right git SHA-1", n, res.Bytes)
	}
}
