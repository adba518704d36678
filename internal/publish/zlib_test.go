package publish

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestZlibHook: with the hook, every file of a release gets a .z blob of its
// content (the pointer is written after them); contents already there are
// not written again; a .zst blob that does not hold its content is refused.
func TestZlibHook(t *testing.T) {
	ctx := context.Background()
	keyDir, ring := newKeys(t)
	origin := filepath.Join(t.TempDir(), "origin")
	src := tree{"a.py": "print(1)\n", "lib/b.py": strings.Repeat("x = 1\n", 900), "same.py": "print(1)\n", "big.bin": string(randomBytes(70_000, 4))}
	var z Zlib
	opt := Options{Origin: origin, Channel: "stable", Version: "1.0", Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow,
		Hooks: z.WithZlib(Hooks{})}
	if _, err := Release(ctx, Dir{Root: src.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	_, m := deviceView(t, keyDir, origin, "stable")
	for _, f := range m.Files {
		checkZBlob(t, origin, f)
	}
	if z.Made != 3 || z.Bytes <= 0 {
		t.Errorf("made %d .z blobs (%d bytes), want 3 (two files share a content)", z.Made, z.Bytes)
	}
	src["c.py"] = "print(3)\n"
	z = Zlib{}
	opt.Version, opt.Hooks = "1.1", z.WithZlib(Hooks{})
	if _, err := Release(ctx, Dir{Root: src.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	if z.Made != 1 {
		t.Errorf("second release made %d .z blobs, want 1 (c.py)", z.Made)
	}

	// A .zst blob swapped for another content: the hook refuses it.
	f, _ := m.Lookup("a.py")
	other, _ := m.Lookup("lib/b.py")
	os.Remove(filepath.Join(origin, filepath.FromSlash(layout.ZBlob(f.SHA256))))
	data, _ := os.ReadFile(filepath.Join(origin, filepath.FromSlash(layout.Blob(other.SHA256))))
	os.WriteFile(filepath.Join(origin, filepath.FromSlash(layout.Blob(f.SHA256))), data, 0o644)
	if err := z.File(ctx, origin, f); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("a .zst blob with other content: %v", err)
	}
	if _, err := os.Stat(filepath.Join(origin, filepath.FromSlash(layout.ZBlob(f.SHA256)))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a .z blob was left for a refused content: %v", err)
	}
}

// checkZBlob decodes f's .z blob and compares it with f's digest and size.
func checkZBlob(t *testing.T, origin string, f manifest.File) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(origin, filepath.FromSlash(layout.ZBlob(f.SHA256))))
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	r, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	out, err := io.ReadAll(r)
	if err != nil || int64(len(out)) != f.Size || sha256.Sum256(out) != f.SHA256 {
		t.Errorf("%s: .z blob decodes to %d bytes (%v), want %d with its digest", f.Path, len(out), err, f.Size)
	}
}

// TestZlibRelease: publishing the same version again with --for micropython
// (the pipeline then writes nothing) still writes its missing .z blobs.
func TestZlibRelease(t *testing.T) {
	ctx := context.Background()
	keyDir, ring := newKeys(t)
	origin := filepath.Join(t.TempDir(), "origin")
	if _, err := release(ctx, Dir{Root: tree{"a.py": "a\n", "b.py": "b\n"}.write(t)}, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	var z Zlib
	if err := z.Release(ctx, origin, "1.0", ring, testNow); err != nil || z.Made != 2 {
		t.Fatalf("Release: %v, made %d, want 2", err, z.Made)
	}
	_, m := deviceView(t, keyDir, origin, "stable")
	for _, f := range m.Files {
		checkZBlob(t, origin, f)
	}
	if err := z.Release(ctx, origin, "9.9", ring, testNow); err == nil {
		t.Error("a version not on the origin was accepted")
	}
}
