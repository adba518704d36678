package device

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/update"
)

// TestGitHubConfig updates a device whose config has a [github] section from
// a release published to a fake GitHub.
func TestGitHubConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now()
	keyDir, originDir, src := filepath.Join(dir, "keys"), filepath.Join(dir, "origin"), filepath.Join(dir, "src")
	if err := keys.Generate(keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: now.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(keyDir, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.py"), []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Release(ctx, publish.Dir{Root: src}, publish.Options{Origin: originDir, Channel: "stable", Version: "1.0",
		Expires: now.Add(time.Hour), Keys: ring, Now: now}); err != nil {
		t.Fatal(err)
	}
	srv := fakegh.New(t, "acme", "app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	gh, err := github.New(config.GitHub{Owner: "acme", Repo: "app", APIURL: srv.URL}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := github.ReleaseAssets(originDir, "stable")
	if err != nil {
		t.Fatal(err)
	}
	if err := gh.UploadRelease(ctx, "acme", "app", "v1.0", assets); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf("target = %q\nstate = %q\nroot_keys = [%q]\n[github]\nowner = \"acme\"\nrepo = \"app\"\napi_url = %q\n",
		filepath.Join(dir, "app"), filepath.Join(dir, "state"), filepath.Join(keyDir, "root.pub"), srv.URL)
	_, opt := openDevice(t, toml, dir)
	res, err := update.Run(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The versioned signing-key list is a release asset too.
	if v, err := update.TrustedKeys(opt.Installer); err != nil || v != 1 {
		t.Errorf("trusted signing-key list version %d, %v; want 1 (from asset keys_signing-keys-2.note)", v, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "app", "main.py"))
	if err != nil || string(got) != "print(1)\n" || res.To != "1.0" {
		t.Errorf("after the update: %s; main.py = %q, %v", res, got, err)
	}
}

// TestGitHubDeveloperChannel: a device following a branch head (unsigned,
// allow_unsigned) installs the head's tree through the agent's cycle, polls
// with one conditional request when the head has not moved, and follows a
// new commit.
func TestGitHubDeveloperChannel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	repo := fakegh.InitRepo(t, map[string]string{"main.py": "print(1)\n", "lib/u.py": "u\n", "docs/x.md": "not managed\n"})
	srv := fakegh.New(t, "acme", "app", repo)
	toml := fmt.Sprintf("target = %q\nstate = %q\nallow = [\"main.py\", \"lib/\"]\n[github]\nowner = \"acme\"\nrepo = \"app\"\nchannel = \"developer\"\nallow_unsigned = true\napi_url = %q\nraw_url = %q\n",
		filepath.Join(dir, "app"), filepath.Join(dir, "state"), srv.URL, srv.RawURL)
	d, opt := openDevice(t, toml, dir)
	cycle, err := d.Cycle()
	if err != nil {
		t.Fatal(err)
	}
	res, err := cycle(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 || res.UpToDate {
		t.Fatalf("first cycle: %s", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "app", "docs")); !os.IsNotExist(err) {
		t.Fatalf("a path outside allow was installed: %v", err)
	}
	// A new process (a cron-driven agent) polls with the ETag kept in the
	// state folder: one request, a 304.
	srv.ResetStats()
	if cycle, err = d.Cycle(); err != nil {
		t.Fatal(err)
	}
	if res, err = cycle(ctx, opt); err != nil || !res.UpToDate {
		t.Fatalf("second cycle: %v %v", res, err)
	}
	if st := srv.Stats(); st.Requests != 1 {
		t.Fatalf("a poll with an unmoved head made %d requests, want 1 (a 304)", st.Requests)
	}
	fakegh.Commit(t, repo, map[string]string{"main.py": "print(2)\n"}, "change")
	srv.ResetStats()
	if res, err = cycle(ctx, opt); err != nil || res.Files != 1 {
		t.Fatalf("after a new commit: %v %v", res, err)
	}
	refs := 0
	for route, n := range srv.Stats().ByRoute {
		if strings.Contains(route, "git/ref/") {
			refs += n
		}
	}
	if refs != 1 {
		t.Fatalf("a cycle asked for the branch ref %d times, want 1", refs)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "app", "main.py")); string(got) != "print(2)\n" {
		t.Fatalf("main.py = %q", got)
	}
}

// openDevice parses a config and returns the device and its update options.
func openDevice(t *testing.T, toml, dir string) (*Device, update.Options) {
	t.Helper()
	cfg, err := config.Parse([]byte(toml), dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	opt, err := d.UpdateOptions()
	if err != nil {
		t.Fatal(err)
	}
	return d, opt
}
