package github

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/update"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// linkPolicy is the agent's default retry policy (http_retries = 3), with
// backoff_sec and max_backoff_sec read as milliseconds to keep tests short.
var linkPolicy = origin.RetryPolicy{Retries: 3, Initial: 2 * time.Millisecond, Max: 60 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}

// linkStall is the stall cut-off of these tests.
const linkStall = 300 * time.Millisecond

// stallFor is the stall cut-off for a case: linkStall where the fault is a
// stall, a generous one elsewhere, so that a loaded machine's slow answer
// is not cut before the planned fault strikes.
func stallFor(fault string) time.Duration {
	if strings.Contains(fault, "stall") {
		return linkStall
	}
	return 10 * time.Second
}

// jsonCut is where a fault cuts a JSON answer: every answer the tests
// disturb is longer, compressed or not.
const jsonCut = 40

// linkFaults are the ways a link breaks a transfer at body offset at, and
// a server error; the last one resumes on a host that then ignores Range.
func linkFaults(at int64, ranged bool) map[string][]faultnet.Fault {
	fs := map[string][]faultnet.Fault{
		"drop":     {faultnet.Drop(at)},
		"truncate": {faultnet.Truncate(at)},
		"stall":    {faultnet.Stall(at)},
		"502":      {faultnet.Status(502, "")},
	}
	if ranged {
		fs["drop, then Range ignored"] = []faultnet.Fault{faultnet.Drop(at), faultnet.IgnoreRange()}
	}
	return fs
}

// textFile is a text file of about n bytes that compresses, but not to
// nothing.
func textFile(seed, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d of %d: %x\n", i, seed, sha256.Sum256([]byte(fmt.Sprint(seed, i))))
	}
	return b.String()
}

// TestDeveloperOverABadLink: every request of a developer-channel update
// (the branch ref and the commit, GitHub JSON; the tree listing; a raw
// file) dropped, cut short or stalled, and a raw file dropped on a host
// that then ignores Range: DevUpdate completes with the default retry
// policy and installs exactly the branch's files. The raw file resumes
// with Range rather than starting again. Every planned fault struck.
func TestDeveloperOverABadLink(t *testing.T) {
	t.Parallel()
	files := map[string]string{"app/main.py": textFile(1, 24<<10), "app/lib/util.py": "x = 1\n", "README": "# app\n"}
	repo := fakegh.InitRepo(t, files)
	head := strings.TrimSpace(fakegh.Git(t, repo, "rev-parse", "HEAD"))
	tree := strings.TrimSpace(fakegh.Git(t, repo, "rev-parse", "HEAD^{tree}"))
	base := "/repos/acme/sensor-app/"
	kinds := map[string]struct {
		path   string
		at     int64
		ranged bool
	}{
		"GitHub JSON (branch ref)": {base + "git/ref/heads/main", jsonCut, false},
		"GitHub JSON (commit)":     {base + "git/commits/" + head, jsonCut, false},
		"tree":                     {base + "git/trees/" + tree, jsonCut, false},
		"raw file":                 {"/raw/acme/sensor-app/" + head + "/app/main.py", int64(len(files["app/main.py"]) / 2), true},
	}
	for kind, k := range kinds {
		for fname, faults := range linkFaults(k.at, k.ranged) {
			t.Run(kind+"/"+fname, func(t *testing.T) {
				t.Parallel()
				srv := fakegh.New(t, "acme", "sensor-app", repo)
				c, _, _ := clientFor(t, srv, func(_ *config.GitHub, o *Options) {
					o.Retry, o.StallTimeout = linkPolicy, stallFor(fname)
				})
				srv.Net.Plan(k.path, faults...)
				mem := vfs.NewMemFS()
				for _, d := range []string{"/app", "/state"} {
					if err := mem.MkdirAll(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				in := &install.Installer{FS: mem, Target: "/app", State: "/state", Decode: update.DecodeStored(manifest.Limits{})}
				if _, err := c.DevUpdate(context.Background(), in, install.Options{}); err != nil {
					t.Fatalf("the update failed: %v", err)
				}
				for p, want := range files {
					if got, err := mem.ReadFile("/app/" + p); err != nil || string(got) != want {
						t.Fatalf("/app/%s: %d bytes, %v; want the branch's %d", p, len(got), err, len(want))
					}
				}
				if got := srv.Net.Fired(k.path); got != len(faults) {
					t.Fatalf("%d of the %d faults planned on %s struck", got, len(faults), k.path)
				}
				if k.ranged && fname != "502" {
					srv.Net.Close()
					var ranges []string
					resumed := 0
					for _, e := range srv.Net.Log() { // in the order the handlers returned
						if e.Path == k.path {
							ranges = append(ranges, e.Range)
							if e.Range != "" {
								resumed++
							}
						}
					}
					if len(ranges) != 2 || resumed != 1 {
						t.Fatalf("requests for the raw file had Range %q: want one whole and one resumption", ranges)
					}
				}
			})
		}
	}
}

// TestStableOverABadLink: every request of a stable-channel update over
// release assets (the latest release, GitHub JSON; the assets of the
// channel pointer, the signing-key list, the manifest and a blob) dropped,
// cut short or stalled, and each asset dropped on a storage host that then
// ignores Range: update.Run completes with the default retry policy and
// installs exactly the release. Every planned fault struck.
func TestStableOverABadLink(t *testing.T) {
	t.Parallel()
	files := map[string]string{"main.py": textFile(2, 24<<10), "lib/util.py": "x = 1\n"}
	for _, kind := range []string{"GitHub JSON (latest release)", "asset (pointer)", "asset (signing keys)", "asset (manifest)", "asset (blob)"} {
		paths := map[string]string{
			"asset (pointer)":      layout.Channel("stable"),
			"asset (signing keys)": layout.SigningKeys2, // a fresh device fetches the format-2 list
			"asset (manifest)":     layout.Manifest("1.0"),
			"asset (blob)":         layout.Blob(sha256.Sum256([]byte(files["main.py"]))),
		}
		for fname := range linkFaults(1, kind != "GitHub JSON (latest release)") {
			t.Run(kind+"/"+fname, func(t *testing.T) {
				t.Parallel()
				srv, src, keyDir := stableRelease(t, files, stallFor(fname))
				net, path, at := srv.Net, "/repos/acme/sensor-app/releases/latest", int64(jsonCut)
				if p, ok := paths[kind]; ok {
					name, _ := AssetName(p)
					data, _ := srv.Asset("v1.0", name)
					net, path, at = srv.StorageNet, srv.AssetPath("v1.0", name), int64(len(data)/2)
				}
				faults := linkFaults(at, true)[fname]
				net.Plan(path, faults...)
				dev := newStableDevice(t, keyDir, src)
				dev.opt.Retry = linkPolicy
				res, err := update.Run(context.Background(), dev.opt)
				if err != nil {
					t.Fatalf("the update failed: %v", err)
				}
				if res.To != "1.0" {
					t.Fatalf("update: %s", res)
				}
				dev.check(t, files)
				if got := net.Fired(path); got != len(faults) {
					t.Fatalf("%d of the %d faults planned on %s struck", got, len(faults), path)
				}
			})
		}
	}
}

// stableRelease publishes files as release 1.0 to a fake GitHub and
// returns it with the agent's origin over it (release assets, with the
// default retry policy and the stall cut-off) and the keys folder.
func stableRelease(t *testing.T, files map[string]string, stall time.Duration) (*fakegh.Server, origin.Source, string) {
	t.Helper()
	now := time.Now()
	repo := fakegh.InitRepo(t, map[string]string{"README": "x"})
	keyDir, originDir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	if err := keys.Generate(keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: now.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(keyDir, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Release(context.Background(), publish.Dir{Root: writeOrigin(t, files)}, publish.Options{Origin: originDir,
		Channel: "stable", Version: "1.0", Expires: now.Add(24 * time.Hour), Keys: ring, Now: now}); err != nil {
		t.Fatal(err)
	}
	assets, err := ReleaseAssets(originDir, "stable")
	if err != nil {
		t.Fatal(err)
	}
	srv := fakegh.New(t, "acme", "sensor-app", repo)
	c, _, _ := clientFor(t, srv, func(_ *config.GitHub, o *Options) {
		o.Retry, o.StallTimeout = linkPolicy, stall
	})
	if err := c.UploadRelease(context.Background(), "acme", "sensor-app", "v1.0", assets); err != nil {
		t.Fatal(err)
	}
	return srv, origin.WithRetry(NewReleaseSource(c), linkPolicy), keyDir
}
