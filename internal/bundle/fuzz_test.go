package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// FuzzApply: a hostile bundle fails cleanly; whatever Apply returns without
// an error is the expected note, and the files it lists got exactly their
// declared sizes.
func FuzzApply(f *testing.F) {
	s := newStore()
	a := s.Release(f, "1", 1, map[string]string{"a.go": source(1200, 1), "b.go": source(700, 2), "c.bin": random(100, 3)})
	b := s.Release(f, "2", 2, map[string]string{"a.go": source(1200, 1) + "// more\n", "b.go": source(700, 2), "d.go": source(300, 4)})
	good, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("FBDL\x01\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		written := map[string]int{}
		out := func(f manifest.File) (io.WriteCloser, error) {
			return &counter{n: func(k int) { written[f.Path] += k }}, nil
		}
		res, err := Apply(context.Background(), bytes.NewReader(data), s.old(a), want(b), out)
		w := want(b)
		w.NoteOut = &memNote{}
		discard := func(manifest.File) (io.WriteCloser, error) { return &counter{n: func(int) {}}, nil }
		if _, ferr := Apply(context.Background(), bytes.NewReader(data), s.old(a), w, discard); (err == nil) != (ferr == nil) {
			t.Fatalf("in memory: %v; to a file: %v", err, ferr)
		}
		if err != nil {
			return
		}
		if sha256.Sum256(res.Note) != sha256.Sum256(b.Note) {
			t.Fatal("accepted a note that is not the expected one")
		}
		for _, f := range res.Files {
			if int64(written[f.Path]) != f.Size {
				t.Fatalf("%s: wrote %d bytes, size %d", f.Path, written[f.Path], f.Size)
			}
		}
	})
}

type counter struct{ n func(int) }

func (c *counter) Write(p []byte) (int, error) { c.n(len(p)); return len(p), nil }
func (c *counter) Close() error                { return nil }
