package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// splitPatch returns a FlagSplit patch of header h whose command frame holds
// cmds and literal frame lits, each one raw block with the given window logs.
func splitPatch(h header, cmdLog byte, cmds []byte, litLog byte, lits []byte) []byte {
	cf := rawFrame(cmdLog, cmds)
	p := binary.AppendUvarint(appendHeader(nil, h), uint64(len(cf)))
	return append(append(p, cf...), rawFrame(litLog, lits)...)
}

// splitCmds encodes commands for a FlagSplit command stream: each with its
// add run (old bytes unchanged) and no literal bytes, which go apart.
func splitCmds(cs ...command) []byte {
	var b []byte
	for _, c := range cs {
		b = appendCommand(b, c)
		if c.addLen > 0 {
			b = binary.AppendUvarint(binary.AppendUvarint(b, uint64(c.addLen)), 0)
		}
	}
	return b
}

// forcedPatch returns the patch of candidate flags for old and new, whatever
// Diff would choose, compressed at the best level.
func forcedPatch(t testing.TB, old, new []byte, split bool) []byte {
	t.Helper()
	es, err := edits(old, new)
	if err != nil {
		t.Fatal(err)
	}
	c := candidate{0, body{cmds: v1Body(old, new, es)}}
	if split {
		c = candidate{FlagSplit, splitBody(old, new, es)}
	}
	p, err := c.patch(old, new, func(data, dict []byte, window int) ([]byte, error) {
		return compress(data, dict, zstd.SpeedBestCompression, window)
	})
	if err != nil || p == nil {
		t.Fatalf("patch: %v (%d bytes)", err, len(p))
	}
	return p
}

func TestApplySplitCarries(t *testing.T) {
	t.Parallel()
	old := []byte{0xff, 0xff, 0x01, 7, 0xf0, 0x00}
	// Changed run of 3 at 0: 0x01ffff + 0x000001 = 0x020000; 1 unchanged;
	// changed run of 2 at 4: 0x00f0 + 0xff20 = 0x10010 mod 1<<16 = 0x0010.
	cmds := append(appendCommand(nil, command{addLen: 6, insLen: 2}), 0, 3, 1, 0, 0, 1, 2, 0x20, 0xff)
	p := splitPatch(header{FlagSplit, 6, 8}, 10, cmds, 10, []byte("xy"))
	var out bytes.Buffer
	n, err := Apply(context.Background(), bytes.NewReader(old), 6, bytes.NewReader(p), &out, 8)
	want := []byte{0, 0, 2, 7, 0x10, 0, 'x', 'y'}
	if err != nil || n != 8 || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("Apply = %d, %v, %x; want 8, nil, %x", n, err, out.Bytes(), want)
	}
}

func TestApplySplitRefusesHostilePatches(t *testing.T) {
	t.Parallel()
	old := bytes.Repeat([]byte("old!"), 100)
	h := header{FlagSplit, 400, 10}
	cmds := splitCmds(command{addLen: 4, insLen: 6})
	valid := splitPatch(h, 10, cmds, 10, []byte("xxxxxx"))
	cf := rawFrame(10, cmds)
	tests := []struct {
		name  string
		patch []byte
		want  error
	}{
		{"valid", valid, nil},
		{"with FlagDict", append(appendHeader(nil, header{FlagSplit | FlagDict, 400, 10}), valid[len(appendHeader(nil, h)):]...), ErrFormat},
		{"with FlagRaw", append(appendHeader(nil, header{FlagSplit | FlagRaw, 400, 10}), valid[len(appendHeader(nil, h)):]...), ErrFormat},
		{"no frame size", appendHeader(nil, h), ErrFormat},
		{"command frame too large", binary.AppendUvarint(appendHeader(nil, h), MaxCommandFrame+1), ErrTooLarge},
		{"command frame cut", binary.AppendUvarint(appendHeader(nil, h), uint64(len(cf)+10)), ErrCorrupt},
		{"command frame short", splitPatch(h, 10, cmds[:len(cmds)-1], 10, []byte("xxxxxx")), ErrCorrupt},
		{"command frame long", splitPatch(h, 10, append(cmds, 0), 10, []byte("xxxxxx")), ErrCorrupt},
		{"literals short", splitPatch(h, 10, cmds, 10, []byte("xxxxx")), ErrCorrupt},
		{"literals long", splitPatch(h, 10, cmds, 10, []byte("xxxxxxx")), ErrCorrupt},
		{"literals missing", append(binary.AppendUvarint(appendHeader(nil, h), uint64(len(cf))), cf...), ErrCorrupt},
		{"literals cut", valid[:len(valid)-2], ErrCorrupt},
		{"literal window too large", splitPatch(h, 10, cmds, 22, []byte("xxxxxx")), ErrTooLarge},
		{"literal window at max", splitPatch(h, 10, cmds, 21, []byte("xxxxxx")), nil},
		{"command window too large", splitPatch(h, 24, cmds, 10, []byte("xxxxxx")), ErrTooLarge},
		{"command window at max", splitPatch(h, 23, cmds, 10, []byte("xxxxxx")), nil},
		{"write past size", splitPatch(h, 10, splitCmds(command{addLen: 4, insLen: 7}), 10, []byte("xxxxxxx")), ErrCorrupt},
		{"add past old", splitPatch(h, 10, splitCmds(command{seek: 395, addLen: 10}), 10, nil), ErrCorrupt},
		{"run past command", splitPatch(h, 10, append(appendCommand(nil, command{addLen: 10}), 11, 0), 10, nil), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &capWriter{max: 10}
			_, err := Apply(context.Background(), bytes.NewReader(old), 400, bytes.NewReader(tt.patch), w, 10)
			if !errors.Is(err, tt.want) {
				t.Errorf("Apply: %v, want %v", err, tt.want)
			}
			if w.over {
				t.Errorf("wrote %d bytes, past the limit", w.n)
			}
		})
	}
}

func TestSplitRoundTrip(t *testing.T) {
	t.Parallel()
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		old := fakeExecutable(rng, rng.IntN(30_000), 0)
		new := mutate(rng, fakeExecutable(rand.New(rand.NewPCG(seed, 7)), len(old), uint32(rng.IntN(1<<20))), 1+rng.IntN(20))
		if seed%5 == 0 {
			old = nil
		}
		p := forcedPatch(t, old, new, true)
		var out bytes.Buffer
		if _, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(p), &out, int64(len(new))); err != nil {
			t.Fatalf("seed %d: Apply: %v", seed, err)
		}
		if !bytes.Equal(out.Bytes(), new) {
			t.Fatalf("seed %d: Apply did not make new", seed)
		}
	}
}

// TestDiffChoosesSplit checks that executables get FlagSplit patches, smaller
// than version-1 command patches, and that text keeps its smaller patches.
func TestDiffChoosesSplit(t *testing.T) {
	t.Parallel()
	old, new := benchPair(1 << 20)
	p := roundTrip(t, old, new)
	if p[5] != FlagSplit {
		t.Errorf("patch has flags %#x, want FlagSplit", p[5])
	}
	if v1 := forcedPatch(t, old, new, false); len(p) >= len(v1) {
		t.Errorf("FlagSplit patch of %d bytes, version-1 commands %d", len(p), len(v1))
	}
}

// TestSplitCommandFrameLimit checks that Diff does not make a FlagSplit
// patch whose command frame Apply would refuse.
func TestSplitCommandFrameLimit(t *testing.T) {
	t.Parallel()
	c := candidate{FlagSplit, body{cmds: []byte("c"), lits: []byte("l")}}
	for _, tt := range []struct {
		size int
		ok   bool
	}{{MaxCommandFrame, true}, {MaxCommandFrame + 1, false}} {
		p, err := c.patch(nil, []byte("x"), func(data, dict []byte, window int) ([]byte, error) {
			return make([]byte, tt.size), nil
		})
		if err != nil || (p != nil) != tt.ok {
			t.Errorf("command frame of %d bytes: patch of %d bytes, %v; want a patch %v", tt.size, len(p), err, tt.ok)
		}
	}
}

func TestDiffNoSplit(t *testing.T) {
	t.Parallel()
	old, new := benchPair(256 << 10)
	var p bytes.Buffer
	if err := Diff(old, new, &p, Options{NoSplit: true}); err != nil {
		t.Fatal(err)
	}
	if f := p.Bytes()[5]; f&FlagSplit != 0 {
		t.Errorf("patch has flags %#x with NoSplit", f)
	}
}
