package publish

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

func applyZ(t *testing.T, old, patch []byte, max int64) ([]byte, error) {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(patch))
	if err != nil {
		t.Fatal(err)
	}
	return ApplyMPatch(bytes.NewReader(old), zr, max)
}

// TestMPatchRoundTrip: a patch rebuilds the new content from the old for
// edits, inserts, deletes, moves, and unrelated or empty contents; a small
// edit of a large file makes a small patch.
func TestMPatchRoundTrip(t *testing.T) {
	base := randomBytes(200_000, 11)
	edit := append([]byte(nil), base...)
	copy(edit[5000:], "an edit in the middle")
	insert := append(append(append([]byte(nil), base[:70_000]...), []byte("inserted text\n")...), base[70_000:]...)
	moved := append(append([]byte(nil), base[100_000:]...), base[:100_000]...)
	cases := map[string][2][]byte{
		"edit":      {base, edit},
		"insert":    {base, insert},
		"delete":    {base, append(append([]byte(nil), base[:50_000]...), base[60_000:]...)},
		"moved":     {base, moved},
		"unrelated": {base, randomBytes(5000, 12)},
		"to empty":  {base, nil},
		"tiny old":  {[]byte("x"), base[:1000]},
	}
	for name, c := range cases {
		p, err := MakeMPatch(c[0], c[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := applyZ(t, c[0], p, int64(len(c[1])))
		if err != nil || !bytes.Equal(got, c[1]) {
			t.Errorf("%s: apply: %v (%d bytes, want %d)", name, err, len(got), len(c[1]))
		}
		if (name == "edit" || name == "insert" || name == "moved") && len(p) > 200 {
			t.Errorf("%s: patch of %d bytes for a small change", name, len(p))
		}
	}
}

// TestMPatchRefused: a patch over the size cap, cut short, or copying past
// the old content is refused with ErrMPatch.
func TestMPatchRefused(t *testing.T) {
	old := randomBytes(10_000, 13)
	p, err := MakeMPatch(old, append(old[:9000:9000], 'x'))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applyZ(t, old, p, 100); !errors.Is(err, ErrMPatch) {
		t.Errorf("over the cap: %v", err)
	}
	if _, err := applyZ(t, old[:5000], p, 1<<20); !errors.Is(err, ErrMPatch) {
		t.Errorf("copy past a shorter old content: %v", err)
	}
	zr, _ := zlib.NewReader(bytes.NewReader(p))
	cmds, _ := io.ReadAll(zr)
	if _, err := ApplyMPatch(bytes.NewReader(old), bytes.NewReader(cmds[:len(cmds)-1]), 1<<20); !errors.Is(err, ErrMPatch) {
		t.Errorf("no end command: %v", err)
	}
}

// TestZlibHookPatches: the second release gets a .mpatch for a file edited
// in place, none for a new path or a rewritten file (and one for its
// manifest note).
func TestZlibHookPatches(t *testing.T) {
	ctx := context.Background()
	_, ring := newKeys(t)
	origin := filepath.Join(t.TempDir(), "origin")
	big := string(randomBytes(50_000, 14))
	src := tree{"big.bin": big, "small.py": "print(1)\n"}
	var z Zlib
	opt := Options{Origin: origin, Channel: "stable", Version: "1.0", Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow, Hooks: z.WithZlib(Hooks{})}
	if _, err := Release(ctx, Dir{Root: src.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	src["big.bin"] = strings.Replace(big, big[100:120], "twenty changed bytes", 1)
	src["small.py"] = "print(2)\n"
	src["new.py"] = "new\n"
	z = Zlib{}
	opt.Version, opt.Hooks = "1.1", z.WithZlib(Hooks{})
	if _, err := Release(ctx, Dir{Root: src.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	// big.bin's patch and the manifest note's (TestZlibManifestPatch).
	if z.Patches != 2 || z.PatchBytes > 600 {
		t.Fatalf("made %d patches (%d bytes), want 2 small ones (big.bin, the manifest note)", z.Patches, z.PatchBytes)
	}
	found, _ := filepath.Glob(filepath.Join(origin, "deltas", "*", "*.mpatch"))
	if len(found) != 2 {
		t.Fatalf("patches on the origin: %q", found)
	}
	want := layout.MPatch(manifest.Digest(sha256.Sum256([]byte(big))), manifest.Digest(sha256.Sum256([]byte(src["big.bin"]))))
	p, err := os.ReadFile(filepath.Join(origin, filepath.FromSlash(want)))
	if err != nil {
		t.Fatalf("no patch for big.bin at %s: %v", want, err)
	}
	got, err := applyZ(t, []byte(big), p, 1<<20)
	if err != nil || string(got) != src["big.bin"] {
		t.Errorf("the origin's patch does not rebuild big.bin: %v", err)
	}
	if len(p) > 200 {
		t.Errorf("big.bin's patch is %d bytes for 20 changed bytes", len(p))
	}
}

// FuzzApplyMPatch: any command stream either applies within the cap or is
// refused with ErrMPatch; it never panics or makes more than the cap.
func FuzzApplyMPatch(f *testing.F) {
	old := []byte("the old content of a file on the board\n")
	p, _ := MakeMPatch(old, []byte("the new content of a file on the board\n"))
	zr, _ := zlib.NewReader(bytes.NewReader(p))
	cmds, _ := io.ReadAll(zr)
	f.Add(cmds)
	f.Add([]byte("FMP1\x05C\x00\x05E"))
	f.Add([]byte("FMP1\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"))
	f.Fuzz(func(t *testing.T, cmds []byte) {
		out, err := ApplyMPatch(bytes.NewReader(old), bytes.NewReader(cmds), 1000)
		if err != nil && !errors.Is(err, ErrMPatch) {
			t.Fatalf("error not ErrMPatch: %v", err)
		}
		if len(out) > 1000 {
			t.Fatalf("%d bytes made, cap 1000", len(out))
		}
	})
}

// TestMPatchShortRuns: copies are found at any offset of the old content,
// not only at aligned blocks: a content with a byte inserted every 24 bytes
// (as a manifest note's lines shift when a size or digest changes) is
// mostly copies.
func TestMPatchShortRuns(t *testing.T) {
	old := randomBytes(4000, 21)
	var new []byte
	for i := 0; i < len(old); i += 24 {
		new = append(append(new, old[i:min(i+24, len(old))]...), '+')
	}
	p, err := MakeMPatch(old, new)
	if err != nil {
		t.Fatal(err)
	}
	got, err := applyZ(t, old, p, int64(len(new)))
	if err != nil || !bytes.Equal(got, new) {
		t.Fatalf("apply: %v", err)
	}
	if len(p) > len(new)/3 {
		t.Errorf("patch of %d bytes for %d bytes of runs of 24 old bytes", len(p), len(new))
	}
}

// TestMPatchRepetitive: in repetitive content the earliest candidate is
// tried first, so one copy covers the old content (the latest would stop
// at its end after a few lines).
func TestMPatchRepetitive(t *testing.T) {
	old := []byte(strings.Repeat("a line of a large module on the board\n", 300))
	new := append(append([]byte(nil), old...), 'x')
	p, err := MakeMPatch(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := applyZ(t, old, p, int64(len(new))); err != nil || !bytes.Equal(got, new) {
		t.Fatalf("apply: %v", err)
	}
	if len(p) > 30 {
		t.Errorf("patch of %d bytes for one byte appended to repetitive content", len(p))
	}
}
