package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
)

// TestDeltas: a second release gets a patch for its changed file and its
// manifest, and an update bundle; a file over MaxFile gets no patch, and
// the bundle carries only the manifest; --deltas 0 makes none.
func TestDeltas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		k       int
		maxFile int64
		want    int // patches
		bundles int
	}{
		{"default", DefaultDeltaReleases, 0, 2, 1},
		// The bundle lists no file, but is written: it spares the device a 404.
		{"file over the cap", DefaultDeltaReleases, 1000, 1, 1},
		{"no deltas", 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, dir, now := context.Background(), t.TempDir(), time.Now()
			if err := keys.Generate(filepath.Join(dir, "keys"), keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			ring, err := keys.Load(filepath.Join(dir, "keys"), now)
			if err != nil {
				t.Fatal(err)
			}
			origin, src := filepath.Join(dir, "origin"), filepath.Join(dir, "src")
			os.MkdirAll(src, 0o755)
			text := strings.Repeat("a line of configuration that stays the same\n", 500)
			for i, content := range []string{text, strings.Replace(text, "same", "new!", 3)} {
				if err := os.WriteFile(filepath.Join(src, "conf.txt"), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				d, err := NewDeltas(origin, "stable", tc.k, ring, now)
				if err != nil {
					t.Fatal(err)
				}
				d.MaxFile = tc.maxFile
				if _, err := Release(ctx, Dir{Root: src}, Options{Origin: origin, Channel: "stable", Version: []string{"1", "2"}[i],
					Expires: now.Add(time.Hour), Keys: ring, Now: now, Hooks: d.Hooks()}); err != nil {
					t.Fatal(err)
				}
			}
			patches, _ := filepath.Glob(filepath.Join(origin, "deltas", "*", "*.patch"))
			if len(patches) != tc.want {
				t.Fatalf("%d patches, want %d", len(patches), tc.want)
			}
			bundles, _ := filepath.Glob(filepath.Join(origin, "deltas", "*", "*.bundle"))
			if len(bundles) != tc.bundles {
				t.Fatalf("%d bundles, want %d", len(bundles), tc.bundles)
			}
		})
	}
}
