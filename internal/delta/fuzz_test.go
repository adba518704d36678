package delta

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzApply feeds hostile patches to Apply: it must return a sentinel error
// or succeed, and never write more than maxOut.
func FuzzApply(f *testing.F) {
	old := []byte("the quick brown fox jumps over the lazy dog\n")
	for _, new := range []string{"", "the quick brown cat jumps over the lazy dog\n", "fox fox fox", "\x00\x01\x02"} {
		var p bytes.Buffer
		if err := Diff(old, []byte(new), &p, Options{}); err != nil {
			f.Fatal(err)
		}
		f.Add(old, p.Bytes(), int64(len(new)))
		f.Add(old, forcedPatch(f, old, []byte(new), true), int64(len(new)))
	}
	f.Add(old, splitPatch(header{FlagSplit, 44, 10}, 10, splitCmds(command{seek: 3, addLen: 3, insLen: 7}), 10, []byte("0123456")), int64(10))
	f.Add(old, splitPatch(header{FlagSplit, 44, 6}, 10, append(appendCommand(nil, command{addLen: 6}), 0, 3, 1, 0, 0, 1, 2, 0x20, 0xff), 10, nil), int64(6))
	f.Add(old, rawPatch(f, header{0, 44, 10}, cmdBytes(command{seek: 3, addLen: 3, insLen: 7}), 1<<10), int64(10))
	f.Add([]byte{}, append(appendHeader(nil, header{0, 0, 10}), rawFrame(23, cmdBytes(command{insLen: 10}))...), int64(10))
	f.Fuzz(func(t *testing.T, old, patch []byte, maxOut int64) {
		maxOut = max(0, min(maxOut, 1<<20))
		w := &capWriter{max: maxOut}
		n, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), w, maxOut)
		if w.over || n != w.n {
			t.Fatalf("wrote %d bytes (reported %d), limit %d", w.n, n, maxOut)
		}
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrBase) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Apply: %v is not one of the package's errors", err)
		}
	})
}

// FuzzRoundTrip checks that Diff and Apply agree on any pair of inputs.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello, world"), []byte("hello, brave new world"))
	f.Add([]byte{}, []byte("x"))
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), []byte("aaaaaaaaaaaaaaaabaaaaaaaaaaaaaaa"))
	f.Fuzz(func(t *testing.T, old, new []byte) {
		roundTrip(t, old, new)
	})
}
