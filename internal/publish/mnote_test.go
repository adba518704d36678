package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/mbundle"
)

// TestZlibManifestPatch: with --deltas 2, a release gets the MicroPython
// patch to its manifest note from the notes of both previous releases, each
// rebuilding the new note exactly from the old one and far smaller than it;
// a note patch that is not worth keeping (over 3/4 of the note) is not
// written; run again (Zlib.Release), nothing new.
func TestZlibManifestPatch(t *testing.T) {
	ctx := context.Background()
	_, ring := newKeys(t)
	origin := filepath.Join(t.TempDir(), "origin")
	src := tree{}
	for i := range 200 {
		src[fmt.Sprintf("lib/m%03d.py", i)] = fmt.Sprintf("x = %d\n", i)
	}
	notes := map[string][]byte{}
	publishOne := func(version string) *Zlib {
		t.Helper()
		d, err := NewDeltas(origin, "stable", 2, ring, testNow)
		if err != nil {
			t.Fatal(err)
		}
		z := &Zlib{Notes: d.Notes()}
		opt := Options{Origin: origin, Channel: "stable", Version: version, Expires: testNow.Add(time.Hour),
			Keys: ring, Now: testNow, Hooks: z.WithZlib(d.Hooks())}
		if _, err := Release(ctx, Dir{Root: src.write(t)}, opt); err != nil {
			t.Fatal(err)
		}
		notes[version] = readOriginFile(t, origin, layout.Manifest(version))
		return z
	}
	publishOne("1.0")
	src["lib/m007.py"] = "x = 'seven'\n"
	publishOne("1.1")
	src["lib/m100.py"] = "x = 'hundred'\n"
	z := publishOne("1.2")
	for _, from := range []string{"1.0", "1.1"} {
		old, note := notes[from], notes["1.2"]
		rel := layout.MPatch(sha256.Sum256(old), sha256.Sum256(note))
		p := readOriginFile(t, origin, rel)
		got, err := applyZ(t, old, p, int64(len(note)))
		if err != nil || string(got) != string(note) {
			t.Fatalf("%s: does not rebuild the 1.2 note from %s's: %v", rel, from, err)
		}
		if len(p)*4 > len(note) {
			t.Errorf("%s: %d bytes for a %d-byte note: not the changed lines", rel, len(p), len(note))
		}
		t.Logf("manifest note patch %s -> 1.2: %d bytes, note %d bytes", from, len(p), len(note))
	}
	for _, from := range []string{"1.0", "1.1"} {
		checkMBundle(t, origin, notes[from], notes["1.2"], src)
	}
	if z.Patches != 2 || z.Bundles != 2 {
		t.Errorf("1.2 made %d MicroPython patches and %d bundles, want 2 of each (from the notes of 1.0 and 1.1; no file has an old content)", z.Patches, z.Bundles)
	}

	// A patch not worth keeping (incompressible notes that share nothing)
	// is not written.
	other, rnd := randomBytes(4000, 1), randomBytes(4000, 2)
	if err := z.Manifest(ctx, origin, [][]byte{other}, rnd); err != nil || z.Patches != 2 || z.Bundles != 2 {
		t.Errorf("a patch of random notes: %v, %d patches; want none written", err, z.Patches-2)
	}
	if _, err := os.Stat(filepath.Join(origin, filepath.FromSlash(layout.MPatch(sha256.Sum256(other), sha256.Sum256(rnd))))); !os.IsNotExist(err) {
		t.Errorf("a patch of random notes is on the origin: %v", err)
	}

	again := &Zlib{Notes: [][]byte{notes["1.1"], notes["1.0"]}}
	if err := again.Release(ctx, origin, "1.2", ring, testNow); err != nil || again.Patches != 0 || again.Bundles != 0 {
		t.Errorf("run again: %d patches, %d bundles, %v; want 0 (they are on the origin)", again.Patches, again.Bundles, err)
	}
	os.Remove(filepath.Join(origin, filepath.FromSlash(layout.MPatch(manifest.Digest(sha256.Sum256(notes["1.0"])), sha256.Sum256(notes["1.2"])))))
	if err := again.Release(ctx, origin, "1.2", ring, testNow); err != nil || again.Patches != 1 {
		t.Errorf("run again with one patch missing: %d patches, %v; want 1", again.Patches, err)
	}
}

func readOriginFile(t *testing.T, origin, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(origin, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkMBundle checks that the origin's MicroPython update bundle from old
// to note rebuilds note on a board holding the old release, and makes the
// new content of exactly the changed files of src.
func checkMBundle(t *testing.T, origin string, old, note []byte, src tree) {
	t.Helper()
	rel := layout.MBundle(sha256.Sum256(old), sha256.Sum256(note))
	b := readOriginFile(t, origin, rel)
	content := func(f manifest.File) ([]byte, error) { return readBlob(origin, f.SHA256) }
	res, err := mbundle.Apply(bytes.NewReader(b), mbundle.Old{Note: old, Content: content},
		mbundle.Want{Digest: sha256.Sum256(note), NoteSize: int64(len(note)), MaxFiles: 500, MaxFileSize: 1 << 20, MaxTotal: 2 << 20})
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	for _, f := range res.Files {
		found := false
		for _, c := range src {
			found = found || sha256.Sum256([]byte(c)) == f.SHA256
		}
		if !found {
			t.Errorf("%s: makes a content that is not in the release", rel)
		}
	}
	t.Logf("update bundle %s: %d bytes, %d files", rel, len(b), len(res.Files))
}
