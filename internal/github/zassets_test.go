package github

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/publish"
)

// TestReleaseAssetsZBlobs: a release published --for micropython carries
// the .z blob of every content as an asset, so boards on the GitHub stable
// channel find them; one published for linux alone carries none.
func TestReleaseAssetsZBlobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	keyDir := filepath.Join(t.TempDir(), "keys")
	if err := keys.Generate(keyDir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: now.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.Load(keyDir, now)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"main.py": "print(1)\n", "lib/a.py": "A = 1\n"}
	for i := range 20 { // the same content: more lines in the manifest note (its patch is worth keeping), no more blobs
		files[fmt.Sprintf("lib/same%02d.py", i)] = "print(1)\n"
	}
	for _, mpy := range []bool{false, true} {
		originDir := t.TempDir()
		var z publish.Zlib
		hooks := publish.Hooks{}
		if mpy {
			hooks = z.WithZlib(hooks)
		}
		if _, err := publish.Release(ctx, publish.Dir{Root: writeOrigin(t, files)}, publish.Options{Origin: originDir, Channel: "stable",
			Version: "1.0", Expires: now.Add(time.Hour), Keys: ring, Now: now, Hooks: hooks}); err != nil {
			t.Fatal(err)
		}
		assets, err := ReleaseAssets(originDir, "stable")
		if err != nil {
			t.Fatal(err)
		}
		var zs, zsts int
		for name := range assets {
			switch {
			case strings.HasSuffix(name, ".zst"):
				zsts++
			case strings.HasSuffix(name, ".z"):
				zs++
			}
		}
		if want := map[bool]int{false: 0, true: 2}[mpy]; zs != want || zsts != 2 {
			t.Errorf("micropython %v: %d .z and %d .zst assets, want %d and 2", mpy, zs, zsts, want)
		}
		if !mpy {
			continue
		}
		// The next release edits a large file in place: its .mpatch is an
		// asset, and so is the manifest note's.
		big := strings.Repeat("a line of a large module on the board\n", 300)
		for i, v := range []string{"1.1", "1.2"} {
			files["lib/big.py"] = big + strings.Repeat("x", i)
			if _, err := publish.Release(ctx, publish.Dir{Root: writeOrigin(t, files)}, publish.Options{Origin: originDir, Channel: "stable",
				Version: v, Expires: now.Add(time.Hour), Keys: ring, Now: now, Hooks: z.WithZlib(publish.Hooks{})}); err != nil {
				t.Fatal(err)
			}
		}
		assets, err = ReleaseAssets(originDir, "stable")
		if err != nil {
			t.Fatal(err)
		}
		var mpatches int
		note, err := os.ReadFile(filepath.Join(originDir, "releases", "1.2", "manifest.note"))
		if err != nil {
			t.Fatal(err)
		}
		noteName := fmt.Sprintf("_%x.mpatch", sha256.Sum256(note))
		var notePatch, mbundle bool
		for name := range assets {
			if strings.HasSuffix(name, ".mpatch") {
				mpatches++
				notePatch = notePatch || strings.HasSuffix(name, noteName)
			}
			mbundle = mbundle || strings.HasSuffix(name, fmt.Sprintf("_%x.mbundle", sha256.Sum256(note)))
		}
		if !notePatch {
			t.Errorf("no asset ends %q (the patch to 1.2's manifest note)", noteName)
		}
		if !mbundle {
			t.Errorf("no asset is the MicroPython update bundle to 1.2 (%d assets)", len(assets))
		}
		// 1.1 and 1.2 each patch the previous manifest note, and 1.2 big.py:
		// the release carries big.py's and its own note's.
		if mpatches != 2 || z.Patches != 3 {
			t.Errorf("%d .mpatch assets (%d made), want 2 (3 made)", mpatches, z.Patches)
		}
	}
}
