package delta

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

// benchPair returns a fake executable of n bytes and a new version of it
// with shifted addresses and a few edits.
func benchPair(n int) (old, new []byte) {
	old = fakeExecutable(rand.New(rand.NewPCG(7, 8)), n, 0)
	new = mutate(rand.New(rand.NewPCG(9, 10)), fakeExecutable(rand.New(rand.NewPCG(7, 8)), n, 0x40), 30)
	return old, new
}

func BenchmarkDiff(b *testing.B) {
	old, new := benchPair(1 << 20)
	b.SetBytes(int64(len(new)))
	for b.Loop() {
		if err := Diff(old, new, io.Discard, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	old, new := benchPair(4 << 20)
	var p bytes.Buffer
	if err := Diff(old, new, &p, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(p.Len()), "patch-bytes")
	b.SetBytes(int64(len(new)))
	b.ReportAllocs()
	for b.Loop() {
		_, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(p.Bytes()), io.Discard, int64(len(new)))
		if err != nil {
			b.Fatal(err)
		}
	}
}
