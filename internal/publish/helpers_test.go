package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/klauspost/compress/zstd"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newKeys makes a key folder and returns it and its loaded ring.
func newKeys(t testing.TB) (string, *keys.Ring) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keys.Generate(dir, keys.GenerateOptions{Roots: 1, Threshold: 1, Expires: testNow.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	return dir, loadRing(t, dir)
}

func loadRing(t testing.TB, dir string) *keys.Ring {
	t.Helper()
	r, err := keys.Load(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tree is a source folder: path → content; a path ending in "*" is 0755.
type tree map[string]string

func (tr tree) write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range tr {
		mode := os.FileMode(0o644)
		if p[len(p)-1] == '*' {
			p, mode = p[:len(p)-1], 0o755
		}
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func release(ctx context.Context, src Source, origin, channel, version string, ring *keys.Ring) (*Result, error) {
	return Release(ctx, src, Options{Origin: origin, Channel: channel, Version: version,
		Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow})
}

// deviceView verifies the origin the way a device does, from root.pub alone,
// and returns the channel's pointer and manifest with every blob checked.
func deviceView(t *testing.T, keyDir, origin, channel string) (*manifest.Pointer, *manifest.Manifest) {
	t.Helper()
	read := func(rel string) []byte {
		data, err := os.ReadFile(filepath.Join(origin, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	pub, err := os.ReadFile(filepath.Join(keyDir, keys.RootPub))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := trust.ParseRoots(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := roots.OpenBundle(read(layout.SigningKeys), testNow); err != nil {
		t.Fatal(err)
	}
	list, err := roots.OpenKeyList(read(layout.SigningKeys2), testNow)
	if err != nil {
		t.Fatal(err)
	}
	signing := list.Verifiers(trust.RoleRelease)
	text, err := list.Verifiers(trust.RoleRelease, trust.RoleRefresh).Open(read(layout.Channel(channel)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := manifest.ParsePointer(text)
	if err != nil {
		t.Fatal(err)
	}
	note := read(layout.Manifest(p.Version))
	if sha256.Sum256(note) != p.Manifest || int64(len(note)) != p.ManifestSize {
		t.Fatalf("manifest of %q does not match its pointer", p.Version)
	}
	if text, err = signing.Open(note); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.ParseManifest(text, manifest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		checkBlob(t, origin, f)
	}
	return p, m
}

func checkBlob(t *testing.T, origin string, f manifest.File) {
	t.Helper()
	z, err := os.ReadFile(filepath.Join(origin, filepath.FromSlash(layout.Blob(f.SHA256))))
	if err != nil {
		t.Fatalf("blob of %q: %v", f.Path, err)
	}
	if int64(len(z)) != f.ZSize {
		t.Errorf("blob of %q is %d bytes, manifest says %d", f.Path, len(z), f.ZSize)
	}
	dec, err := zstd.NewReader(bytes.NewReader(z), zstd.WithDecoderMaxWindow(BlobWindow))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	h := sha256.New()
	n, err := io.Copy(h, dec)
	if err != nil || n != f.Size || manifest.Digest(h.Sum(nil)) != f.SHA256 {
		t.Errorf("blob of %q: %d bytes, %v, hash match %v", f.Path, n, err, manifest.Digest(h.Sum(nil)) == f.SHA256)
	}
}
