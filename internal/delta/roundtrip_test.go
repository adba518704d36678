package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// roundTrip diffs old to new, applies the patch, checks the result and
// returns the patch.
func roundTrip(t *testing.T, old, new []byte) []byte {
	t.Helper()
	var p bytes.Buffer
	if err := Diff(old, new, &p, Options{}); err != nil {
		t.Fatalf("Diff: %v", err)
	}
	patch := p.Bytes()
	var out bytes.Buffer
	n, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), &out, int64(len(new)))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n != int64(len(new)) || !bytes.Equal(out.Bytes(), new) {
		t.Fatalf("Apply wrote %d bytes, want %d; equal=%v", n, len(new), bytes.Equal(out.Bytes(), new))
	}
	return patch
}

// randBytes returns n pseudo-random bytes of rng.
func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// fakeExecutable returns a code-like buffer: instructions with 4-byte
// absolute addresses every 16 bytes.
func fakeExecutable(rng *rand.Rand, n int, addrShift uint32) []byte {
	b := randBytes(rng, n)
	for i := 0; i+16 <= n; i += 16 {
		binary.LittleEndian.PutUint32(b[i+4:], uint32(0x400000+i)+addrShift)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog\n", 200))
	edited := bytes.Replace(text, []byte("lazy dog\nthe quick"), []byte("lazy cat\nthe slow"), 7)
	random := randBytes(rng, 50_000)
	exe := fakeExecutable(rand.New(rand.NewPCG(3, 4)), 200_000, 0)
	exe2 := fakeExecutable(rand.New(rand.NewPCG(3, 4)), 200_000, 0x40)
	exe2 = append(append(append([]byte{}, exe2[:1000]...), randBytes(rng, 64)...), exe2[1000:]...)
	tests := []struct {
		name     string
		old, new []byte
		maxPatch int // the patch must be at most this long
	}{
		{"both empty", nil, nil, 20},
		{"from empty", nil, text, 200},
		{"to empty", text, nil, 20},
		{"identical", text, text, 40},
		{"text edit", text, edited, 120},
		{"random unrelated", random, randBytes(rng, 50_000), 50_100},
		{"random identical", random, random, 40},
		{"random prefix appended", random, append(randBytes(rng, 100), random...), 200},
		{"executable shifted", exe, exe2, 3_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := roundTrip(t, tt.old, tt.new)
			if len(p) > tt.maxPatch {
				t.Errorf("patch is %d bytes, want at most %d", len(p), tt.maxPatch)
			}
		})
	}
}

// mutate returns a copy of b with n random edits: byte changes, inserts,
// deletes, and moves of blocks.
func mutate(rng *rand.Rand, b []byte, n int) []byte {
	b = append([]byte{}, b...)
	for range n {
		if len(b) == 0 {
			b = append(b, randBytes(rng, rng.IntN(100))...)
			continue
		}
		i := rng.IntN(len(b))
		j := i + rng.IntN(min(len(b)-i, 500)+1)
		switch rng.IntN(4) {
		case 0: // change
			for k := i; k < j; k += 1 + rng.IntN(8) {
				b[k] += byte(1 + rng.IntN(3))
			}
		case 1: // insert
			b = append(b[:i], append(randBytes(rng, rng.IntN(300)), b[i:]...)...)
		case 2: // delete
			b = append(b[:i], b[j:]...)
		case 3: // move the block [i, j) to the end
			blk := append([]byte{}, b[i:j]...)
			b = append(append(b[:i], b[j:]...), blk...)
		}
	}
	return b
}

func TestRoundTripRandomMutations(t *testing.T) {
	t.Parallel()
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 99))
		var old []byte
		if seed%2 == 0 {
			old = randBytes(rng, rng.IntN(20_000))
		} else {
			old = fakeExecutable(rng, rng.IntN(20_000), 0)
		}
		new := mutate(rng, old, 1+rng.IntN(20))
		p := roundTrip(t, old, new)
		if limit := len(new)/2 + 2_000; len(new) > 4_000 && len(p) > limit {
			t.Errorf("seed %d: patch of %d bytes for %d-byte new, want at most %d", seed, len(p), len(new), limit)
		}
	}
}

func TestSuffixArraySorted(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, data := range [][]byte{{7}, []byte("banana"), randBytes(rng, 100_000), bytes.Repeat([]byte("ab"), 30_000)} {
		sa, err := suffixArray(data)
		if err != nil {
			t.Fatalf("suffixArray: %v", err)
		}
		if diff := cmp.Diff(len(data), len(sa)); diff != "" {
			t.Fatalf("length (-want +got):\n%s", diff)
		}
		seen := make([]bool, len(data))
		for i, p := range sa {
			if seen[p] {
				t.Fatalf("offset %d twice", p)
			}
			seen[p] = true
			if i > 0 && bytes.Compare(data[sa[i-1]:], data[p:]) >= 0 {
				t.Fatalf("suffixes %d and %d out of order", sa[i-1], p)
			}
		}
	}
}

// TestDictMax: with Options.DictMax below the old file's size, Diff makes no
// FlagDict patch (the device would hold old in memory), and the patch still
// applies.
func TestDictMax(t *testing.T) {
	var b bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&b, "f 0644 %d %d %064x d%03d/f%05d.txt\n", i%400, i%300, i*7919, i%500, i)
	}
	old := b.Bytes()
	new := bytes.Clone(old)
	for i := 100; i < len(new); i += 997 { // scattered edits: the dictionary is the best base
		new[i] = 'X'
	}
	flags := func(opts Options) byte {
		var p bytes.Buffer
		if err := Diff(old, new, &p, opts); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(p.Bytes()), &out, int64(len(new))); err != nil || !bytes.Equal(out.Bytes(), new) {
			t.Fatalf("patch does not apply: %v", err)
		}
		return p.Bytes()[len(Magic)+1]
	}
	if f := flags(Options{DictMax: int64(len(old)) - 1}); f&FlagDict != 0 {
		t.Fatalf("DictMax below the old size: flags %#x", f)
	}
	for _, tc := range []struct {
		n    int
		opts Options
		want bool
	}{
		{len(old), Options{}, true},
		{len(old), Options{DictMax: int64(len(old))}, true},
		{len(old), Options{DictMax: int64(len(old)) - 1}, false},
		{MaxDict + 1, Options{}, false},
		{MaxDict + 1, Options{DictMax: MaxDict + 2}, false},
		{0, Options{}, false},
	} {
		if got := tc.opts.dictOK(tc.n); got != tc.want {
			t.Errorf("dictOK(%d) with DictMax %d = %v", tc.n, tc.opts.DictMax, got)
		}
	}
}
