package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// signedNote returns the signed manifest note of a release of n files, of
// which the first `changed` have content of the given generation.
func signedNote(t *testing.T, skey string, seq uint64, n, changed int) []byte {
	t.Helper()
	m := &manifest.Manifest{Channel: "stable", Version: fmt.Sprintf("1.%d", seq), Sequence: seq,
		Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Expires: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	for i := range n {
		gen := 0
		if i < changed {
			gen = int(seq)
		}
		content := fmt.Sprintf("file %d generation %d", i, gen)
		m.Files = append(m.Files, manifest.File{Path: fmt.Sprintf("app/lib/module%04d.py", i), Mode: 0o644,
			Size: int64(len(content)), ZSize: int64(len(content)) + 9, SHA256: sha256.Sum256([]byte(content))})
	}
	text, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	note, err := trust.Sign(text, skey)
	if err != nil {
		t.Fatal(err)
	}
	return note
}

// TestManifestNoteDelta follows the design of the package doc: the device
// patches its old manifest note, and accepts the result only if its SHA-256
// is the digest in the new signed pointer.
func TestManifestNoteDelta(t *testing.T) {
	t.Parallel()
	skey, _, err := trust.GenerateKey("test-signing")
	if err != nil {
		t.Fatal(err)
	}
	oldNote := signedNote(t, skey, 1, 1000, 0)
	newNote := signedNote(t, skey, 2, 1000, 3)
	ptr := manifest.Pointer{Manifest: sha256.Sum256(newNote), ManifestSize: int64(len(newNote))}

	var p bytes.Buffer
	if err := Diff(oldNote, newNote, &p, Options{}); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := Apply(context.Background(), bytes.NewReader(oldNote), int64(len(oldNote)), bytes.NewReader(p.Bytes()), h, ptr.ManifestSize); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := manifest.Digest(h.Sum(nil)); got != ptr.Manifest {
		t.Fatalf("patched note has digest %s, pointer says %s", got, ptr.Manifest)
	}
	// Three changed files of a thousand: about their three hashes and the
	// new signature, not the file list.
	if max := 400; p.Len() > max {
		t.Errorf("manifest patch of %d bytes for a %d-byte note, want at most %d", p.Len(), len(newNote), max)
	}
}
