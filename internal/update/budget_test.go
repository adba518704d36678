package update

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// fakeBudget records what it is asked and answers as told.
type fakeBudget struct {
	free   bool
	defer_ string
	asked  []int64
}

func (b *fakeBudget) Free() bool { return b.free }

func (b *fakeBudget) Allow(_ context.Context, _ *manifest.Pointer, n int64) (string, error) {
	b.asked = append(b.asked, n)
	if b.defer_ != "" {
		return "cellular", &Deferral{Reason: b.defer_}
	}
	if b.free {
		return "wifi", nil
	}
	return "cellular", nil
}

// TestBudgetHook: the Budget is asked once, after the manifest and before
// any content, with the manifest's bytes plus the signed compressed sizes of
// the files that change; a deferral fetches no content and changes nothing;
// over a costly link the unsigned-size bundle is not taken.
func TestBudgetHook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		budget fakeBudget
	}{
		{"costly, deferred", fakeBudget{defer_: "1.2 MB over cellular costs 0.60; budget left this month 0.25"}},
		{"costly, allowed", fakeBudget{}},
		{"free, allowed", fakeBudget{free: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, d := installedV1(t)
			oldNote := sim.Get(layout.Manifest("1.0"))
			m := sim.Publish(originsim.Release{Version: "2.0"}, v2)
			newNote := sim.Get(layout.Manifest("2.0"))
			bundlePath := layout.Bundle(sha256.Sum256(oldNote), sha256.Sum256(newNote))
			sim.Put(bundlePath, makeBundle(t, sim, "1.0", "2.0", v1, v2))
			var want int64 // main.py and lib/new.py change
			for _, f := range m.Files {
				if f.Path == "main.py" || f.Path == "lib/new.py" {
					want += f.ZSize
				}
			}
			b := tc.budget
			d.opt.Budget = &b
			before, _ := sim.Requests()
			res := d.mustRun(t)
			reqs, _ := sim.Requests()
			reqs = reqs[len(before):]
			if len(b.asked) != 1 {
				t.Fatalf("Budget asked %d times, want once", len(b.asked))
			}
			content := false // a blob or a file's patch; the manifest's own patch is not content
			notePatch := layout.Delta(sha256.Sum256(oldNote), sha256.Sum256(newNote))
			for _, r := range reqs {
				content = content || strings.HasPrefix(r, "blobs/") || (strings.HasSuffix(r, ".patch") && r != notePatch)
			}
			switch {
			case b.defer_ != "":
				if res.Deferred != b.defer_ || res.String() != "deferred 2.0 ("+b.defer_+")" || content || !sameTree(d.files(t), v1) {
					t.Fatalf("deferral: %s; content fetched %v: %v", res, content, reqs)
				}
				if got := b.asked[0]; got != int64(len(newNote))+want {
					t.Fatalf("asked %d bytes, want the manifest %d + blobs %d", got, len(newNote), want)
				}
			case b.free:
				if !contains(reqs, bundlePath) || !sameTree(d.files(t), v2) || !strings.HasSuffix(res.String(), " over wifi)") {
					t.Fatalf("free link: %s: %v", res, reqs)
				}
			default:
				if contains(reqs, bundlePath) || !sameTree(d.files(t), v2) || !strings.HasSuffix(res.String(), " over cellular)") {
					t.Fatalf("costly link: %s: %v", res, reqs)
				}
				if b.asked[0] != int64(len(newNote))+want || res.Downloaded != b.asked[0] {
					t.Fatalf("asked %d bytes, downloaded %d; want the manifest %d + blobs %d", b.asked[0], res.Downloaded, len(newNote), want)
				}
			}
		})
	}
}
