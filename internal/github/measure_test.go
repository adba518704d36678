package github

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/update"
	"github.com/ferry-ota/ferry/internal/vfs"
)

const (
	measureFiles   = 300 // a repository of a few hundred files
	measureChanged = 5   // files changed by the update
)

// appTree is a repository of measureFiles text files of 0.5 to 4 KiB.
func appTree(seed uint64) map[string]string {
	rng := rand.New(rand.NewPCG(seed, 1))
	files := map[string]string{}
	for i := range measureFiles {
		var b strings.Builder
		for b.Len() < 512+rng.IntN(3584) {
			fmt.Fprintf(&b, "line %d of file %d: value = %d\n", b.Len(), i, rng.IntN(1_000_000))
		}
		files[fmt.Sprintf("pkg%02d/mod%03d.py", i%20, i)] = b.String()
	}
	return files
}

// changeSome changes measureChanged files of files.
func changeSome(files map[string]string) map[string]string {
	changed := map[string]string{}
	for i := range measureChanged {
		p := fmt.Sprintf("pkg%02d/mod%03d.py", (i*7)%20, i*7)
		changed[p] = files[p] + "# changed\n"
	}
	return changed
}

func logStats(t *testing.T, what string, st fakegh.Stats) {
	t.Helper()
	t.Logf("%-34s %4d requests (%3d charged to the rate limit, %d answered 304), %7d bytes down, %6d bytes up",
		what, st.Requests, st.Charged, st.NotModified, st.BytesOut, st.BytesIn)
}

// TestMeasureStable publishes a signed release with publish.Release, uploads
// it with UploadRelease, and updates a device with update.Run over
// NewReleaseSource: the agent verifies exactly as with a Ferry origin. It
// logs the requests and bytes of the first install, a no-change poll and an
// update of measureChanged files.
func TestMeasureStable(t *testing.T) {
	t.Parallel()
	for _, token := range []bool{true, false} {
		t.Run(fmt.Sprintf("token=%v", token), func(t *testing.T) {
			t.Parallel()
			measureStable(t, token)
		})
	}
}

func measureStable(t *testing.T, token bool) {
	ctx := context.Background()
	who := "stable, token"
	if !token {
		who = "stable, no token"
	}
	now := time.Now()
	keyDir, originDir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	if err := keys.Generate(keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: now.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(keyDir, now)
	if err != nil {
		t.Fatal(err)
	}
	srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	c, _, _ := clientFor(t, srv, func(g *config.GitHub, _ *Options) {
		if !token {
			g.TokenFile = ""
		}
	})
	files := appTree(1)
	publishTo := func(version string, files map[string]string) {
		t.Helper()
		deltas, err := publish.NewDeltas(originDir, "stable", publish.DefaultDeltaReleases, ring, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := publish.Release(ctx, publish.Dir{Root: writeOrigin(t, files)}, publish.Options{Origin: originDir, Channel: "stable",
			Version: version, Expires: now.Add(24 * time.Hour), Keys: ring, Now: now, Hooks: deltas.Hooks()}); err != nil {
			t.Fatal(err)
		}
		assets, err := ReleaseAssets(originDir, "stable")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.UploadRelease(ctx, "acme", "sensor-app", "v"+version, assets); err != nil {
			t.Fatal(err)
		}
		srv.ResetStats()
	}
	dev := newStableDevice(t, keyDir, NewReleaseSource(c))
	publishTo("1.0", files)
	dev.run(t, "1.0", measureFiles)
	logStats(t, who+": first install", srv.Stats())

	srv.ResetStats()
	dev.run(t, "1.0", 0)
	st := srv.Stats()
	logStats(t, who+": no-change poll", st)
	if st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("no-change poll: %d requests, %d 304s; want a single 304", st.Requests, st.NotModified)
	}

	for p, data := range changeSome(files) {
		files[p] = data
	}
	publishTo("1.1", files)
	dev.run(t, "1.1", measureChanged)
	logStats(t, who+": update of 5 files", srv.Stats())
	if fi, err := os.Stat(filepath.Join(originDir, "releases", "1.1", "manifest.note")); err == nil {
		t.Logf("%-34s of which the signed manifest note is %d bytes", who+":", fi.Size())
	}
	dev.check(t, files)
}

type stableDevice struct {
	fs     *vfs.MemFS
	opt    update.Options
	target string
}

func newStableDevice(t *testing.T, keyDir string, src origin.Source) *stableDevice {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(keyDir, "root.pub"))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := trust.ParseVerifiers(pub)
	if err != nil {
		t.Fatal(err)
	}
	mem := vfs.NewMemFS() // the device's flash: fsyncs cost nothing here
	target, state := "/dev/app", "/dev/state"
	for _, d := range []string{target, state} {
		if err := mem.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in := &install.Installer{FS: mem, Target: target, State: state, Decode: update.DecodeStored(manifest.Limits{})}
	return &stableDevice{fs: mem, target: target, opt: update.Options{Source: src, Installer: in, Roots: roots, Channel: "stable",
		MaxManifestSize: 32 << 20}}
}

func (d *stableDevice) run(t *testing.T, version string, files int) {
	t.Helper()
	res, err := update.Run(context.Background(), d.opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.To != version || res.Files != files {
		t.Fatalf("update: %s; want %s with %d files written", res, version, files)
	}
}

func (d *stableDevice) check(t *testing.T, files map[string]string) {
	t.Helper()
	for p, want := range files {
		got, err := d.fs.ReadFile(d.target + "/" + p)
		if err != nil || string(got) != want {
			t.Fatalf("target %s: %d bytes, %v; want the published content", p, len(got), err)
		}
	}
}

// TestMeasureDeveloper follows a branch with DevUpdate (the installer over
// files streamed by OpenRaw). It logs the requests and bytes of the first
// install, a no-change poll and a commit changing measureChanged files.
func TestMeasureDeveloper(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	files := appTree(2)
	c, srv, _ := fakeClient(t, files, nil)
	mem := vfs.NewMemFS()
	for _, d := range []string{"/app", "/state"} {
		if err := mem.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in := &install.Installer{FS: mem, Target: "/app", State: "/state", Decode: update.DecodeStored(manifest.Limits{})}
	poll := func(what string, wantFiles int) fakegh.Stats {
		t.Helper()
		srv.ResetStats()
		res, err := c.DevUpdate(ctx, in, install.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Files() != wantFiles {
			t.Fatalf("%s: %d files written, want %d", what, res.Files(), wantFiles)
		}
		st := srv.Stats()
		logStats(t, "developer: "+what, st)
		return st
	}
	poll("first install", measureFiles)
	if st := poll("no-change poll", 0); st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("no-change poll: %d requests, %d 304s; want a single 304", st.Requests, st.NotModified)
	}
	fakegh.Commit(t, srv.Dir, changeSome(files), "change some")
	poll("update of 5 files", measureChanged)
}
