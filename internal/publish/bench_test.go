package publish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchTree writes n files of size bytes each, half random (incompressible)
// and half text-like, and returns the folder and the total size.
func benchTree(b *testing.B, n, size int) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, size)
	for i := range n {
		for j := range buf {
			if j < size/2 {
				buf[j] = byte(rng.Uint32())
			} else {
				buf[j] = "ferry over the air "[j%19]
			}
		}
		buf[0] = byte(i) // distinct contents
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir, int64(n * size)
}

// BenchmarkRelease: a fresh publish (hash, compress, store every blob), by
// number of workers.
// Run: go test -run XXX -bench Release -benchmem ./internal/publish
func BenchmarkRelease(b *testing.B) {
	_, ring := newKeys(b)
	src, total := benchTree(b, 64, 256<<10)
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(total)
			for i := 0; b.Loop(); i++ {
				origin := filepath.Join(b.TempDir(), fmt.Sprint(i))
				_, err := Release(context.Background(), Dir{Root: src}, Options{Origin: origin, Channel: "stable",
					Version: "1.0", Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow, Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRepublish: publishing content the origin already holds (hash only).
func BenchmarkRepublish(b *testing.B) {
	_, ring := newKeys(b)
	src, total := benchTree(b, 64, 256<<10)
	origin := b.TempDir()
	if _, err := release(context.Background(), Dir{Root: src}, origin, "stable", "1.0", ring); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	for b.Loop() {
		if _, err := release(context.Background(), Dir{Root: src}, origin, "stable", "1.0", ring); err != nil {
			b.Fatal(err)
		}
	}
}
