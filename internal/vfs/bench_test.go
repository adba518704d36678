package vfs

import (
	"fmt"
	"testing"
)

// writeChunks creates name and writes size bytes in 64 KiB chunks, syncing
// after every syncEvery chunks (never if 0) and at the end.
func writeChunks(b *testing.B, m *MemFS, name string, size, syncEvery int) {
	b.Helper()
	f, err := m.Create(name, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for i := 0; i*len(chunk) < size; i++ {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
		if syncEvery > 0 && i%syncEvery == 0 {
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite measures streaming a 16 MiB file into a MemFS, synced
// once at the end or after every 64 KiB chunk (a resumable download).
func BenchmarkWrite(b *testing.B) {
	for _, every := range []int{0, 1} {
		b.Run(fmt.Sprintf("syncEvery=%d", every), func(b *testing.B) {
			b.SetBytes(16 << 20)
			for b.Loop() {
				writeChunks(b, NewMemFS(), "/a", 16<<20, every)
			}
		})
	}
}

// BenchmarkCloneCrash measures one step of an exhaustive crash test on a
// tree of 1000 files of 4 KiB: Clone, then Crash.
func BenchmarkCloneCrash(b *testing.B) {
	m := NewMemFS()
	for i := range 1000 {
		name := fmt.Sprintf("/t/d%d/f%d", i%10, i)
		if err := m.WriteFile(name, make([]byte, 4<<10), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []CrashMode{DropUnsynced, KeepAll, KeepRandom(1)} {
		b.Run(mode.String(), func(b *testing.B) {
			for b.Loop() {
				m.Clone().Crash(mode)
			}
		})
	}
}
