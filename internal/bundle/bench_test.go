package bundle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// benchPair is a source tree of 200 files, 50 of them edited.
func benchPair(b *testing.B) (store, rel, rel) {
	s := newStore()
	old, nw := map[string]string{}, map[string]string{}
	for i := range 200 {
		p := fmt.Sprintf("pkg%02d/f%03d.go", i%20, i)
		old[p] = source(4000, uint64(i))
		nw[p] = old[p]
		if i%4 == 0 {
			nw[p] = old[p][:2000] + "// edited\n" + old[p][2000:]
		}
	}
	return s, s.Release(b, "1", 1, old), s.Release(b, "2", 2, nw)
}

func BenchmarkMake(b *testing.B) {
	s, a, c := benchPair(b)
	for b.Loop() {
		if _, _, err := Make(s.input(a, c), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	s, a, c := benchPair(b)
	bun, listed, err := Make(s.input(a, c), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var out int64
	for _, f := range listed {
		out += f.Size
	}
	b.SetBytes(out)
	discard := func(manifest.File) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }
	for b.Loop() {
		if _, err := Apply(context.Background(), bytes.NewReader(bun), s.old(a), want(c), discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(bun)), "bundle-bytes")
}
