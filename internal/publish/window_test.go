package publish

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/layout"
)

// TestBlobWindow: a blob of a file larger than BlobWindow declares a window
// of at most BlobWindow (2 MiB), what bounds a device's memory for a fresh
// install of a large file.
func TestBlobWindow(t *testing.T) {
	t.Parallel()
	_, ring := newKeys(t)
	words := []string{"alpha ", "beta ", "gamma ", "delta ", "\n"}
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 0, 5<<20)
	for len(big) < 5<<20 {
		big = append(big, words[rng.IntN(len(words))]...)
	}
	origin := t.TempDir()
	if _, err := release(context.Background(), Dir{Root: tree{"big.txt": string(big)}.write(t)}, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	z, err := os.ReadFile(filepath.Join(origin, filepath.FromSlash(layout.Blob(sha256.Sum256(big)))))
	if err != nil {
		t.Fatal(err)
	}
	var h zstd.Header
	if err := h.Decode(z); err != nil {
		t.Fatal(err)
	}
	if h.WindowSize == 0 || h.WindowSize > 2<<20 {
		t.Fatalf("blob of a 5 MiB file declares a window of %d bytes, want 1 to 2 MiB", h.WindowSize)
	}
}

// TestReadOldBlob: a blob written with the 8 MiB window of the releases
// before issue #15 is still read (the publisher makes deltas from it).
func TestReadOldBlob(t *testing.T) {
	t.Parallel()
	data := make([]byte, 5<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = "abcd\n"[rng.IntN(5)]
	}
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(8<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	origin := t.TempDir()
	d := sha256.Sum256(data)
	name := filepath.Join(origin, filepath.FromSlash(layout.Blob(d)))
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.WriteFile(name, enc.EncodeAll(data, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readBlob(origin, d)
	if err != nil || len(got) != len(data) {
		t.Fatalf("readBlob of an 8 MiB-window blob: %d bytes, %v", len(got), err)
	}
}
