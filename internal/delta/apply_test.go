package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// rawPatch returns a patch with header h whose command stream is cmds,
// compressed with the given zstd window.
func rawPatch(t testing.TB, h header, cmds []byte, window int) []byte {
	t.Helper()
	return append(appendHeader(nil, h), frame(t, cmds, window)[len(zstdMagic):]...)
}

// frame returns a zstd frame of content with the given window.
func frame(t testing.TB, content []byte, window int) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(window), zstd.WithEncoderCRC(false),
		zstd.WithSingleSegment(false), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(content, nil)
}

// rawFrame returns a zstd frame that declares a window of 1<<windowLog
// bytes and holds content in one raw block.
func rawFrame(windowLog byte, content []byte) []byte {
	f := []byte{0x00, (windowLog - 10) << 3}
	bh := uint32(1) | uint32(len(content))<<3 // last block, raw
	return append(append(f, byte(bh), byte(bh>>8), byte(bh>>16)), content...)
}

// cmdBytes encodes commands, each followed by its add run (old bytes
// unchanged) and literal bytes ('x').
func cmdBytes(cs ...command) []byte {
	var b []byte
	for _, c := range cs {
		b = appendCommand(b, c)
		if c.addLen > 0 {
			b = binary.AppendUvarint(binary.AppendUvarint(b, uint64(c.addLen)), 0)
		}
		b = append(b, bytes.Repeat([]byte("x"), int(c.insLen))...)
	}
	return b
}

// capWriter fails the test's invariant by recording any write past max.
type capWriter struct {
	n, max int64
	over   bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.n > w.max {
		w.over = true
	}
	return len(p), nil
}

func TestApplyRefusesHostilePatches(t *testing.T) {
	t.Parallel()
	old := bytes.Repeat([]byte("old!"), 100)
	valid := rawPatch(t, header{0, 400, 10}, cmdBytes(command{addLen: 4, insLen: 6}), 1<<10)
	tests := []struct {
		name   string
		patch  []byte
		oldLen int64
		maxOut int64
		want   error
	}{
		{"empty", nil, 400, 10, ErrFormat},
		{"bad magic", append([]byte("XDLT"), valid[4:]...), 400, 10, ErrFormat},
		{"future version", append([]byte("FDLT\x02"), valid[5:]...), 400, 10, ErrFormat},
		{"unknown flag", append([]byte("FDLT\x01\x08"), valid[6:]...), 400, 10, ErrFormat},
		{"dictionary too large", append(appendHeader(nil, header{FlagDict, MaxDict + 1, 10}), rawFrame(10, []byte("0123456789"))...), MaxDict + 1, 10, ErrTooLarge},
		{"raw too short", append(appendHeader(nil, header{FlagRaw, 400, 10}), rawFrame(10, []byte("012345678"))...), 400, 10, ErrCorrupt},
		{"raw too long", append(appendHeader(nil, header{FlagRaw, 400, 10}), rawFrame(10, []byte("0123456789a"))...), 400, 10, ErrCorrupt},
		{"huge size", []byte("FDLT\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), 400, 10, ErrFormat},
		{"other old file", valid, 401, 10, ErrBase},
		{"over maxOut", valid, 400, 9, ErrTooLarge},
		{"truncated", valid[:len(valid)-3], 400, 10, ErrCorrupt},
		{"trailing frame", append(append([]byte{}, valid...), frame(t, []byte("more"), 1<<10)...), 400, 10, ErrCorrupt},
		{"not zstd", append(appendHeader(nil, header{0, 400, 10}), "garbage garbage"...), 400, 10, ErrCorrupt},
		{"write past size", rawPatch(t, header{0, 400, 10}, cmdBytes(command{insLen: 11}), 1<<10), 400, 10, ErrCorrupt},
		{"add past old", rawPatch(t, header{0, 400, 10}, cmdBytes(command{seek: 395, addLen: 10}), 1<<10), 400, 10, ErrCorrupt},
		{"seek before old", rawPatch(t, header{0, 400, 10}, cmdBytes(command{seek: -1, insLen: 10}), 1<<10), 400, 10, ErrCorrupt},
		{"seek past old", rawPatch(t, header{0, 400, 10}, cmdBytes(command{seek: 401, insLen: 10}), 1<<10), 400, 10, ErrCorrupt},
		{"empty command", rawPatch(t, header{0, 400, 10}, cmdBytes(command{seek: 1}, command{insLen: 10}), 1<<10), 400, 10, ErrCorrupt},
		{"empty run", rawPatch(t, header{0, 400, 10}, append(appendCommand(nil, command{addLen: 10}), 0, 0), 1<<10), 400, 10, ErrCorrupt},
		{"run past command", rawPatch(t, header{0, 400, 10}, append(appendCommand(nil, command{addLen: 10}), 11, 0), 1<<10), 400, 10, ErrCorrupt},
		{"short stream", rawPatch(t, header{0, 400, 10}, cmdBytes(command{insLen: 5}), 1<<10), 400, 10, ErrCorrupt},
		{"window too large", append(appendHeader(nil, header{0, 400, 10}), rawFrame(24, cmdBytes(command{insLen: 10}))...), 400, 10, ErrTooLarge},
		{"window at max", append(appendHeader(nil, header{0, 400, 10}), rawFrame(23, cmdBytes(command{insLen: 10}))...), 400, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &capWriter{max: tt.maxOut}
			_, err := Apply(context.Background(), bytes.NewReader(old[:min(tt.oldLen, 400)]), tt.oldLen, bytes.NewReader(tt.patch), w, tt.maxOut)
			if !errors.Is(err, tt.want) {
				t.Errorf("Apply: %v, want %v", err, tt.want)
			}
			if w.over {
				t.Errorf("wrote %d bytes, past the limit %d", w.n, tt.maxOut)
			}
		})
	}
}

func TestApplyValidRawPatch(t *testing.T) {
	t.Parallel()
	old := []byte("0123456789")
	// Seek to 3, "345" + "xx" from literals; seek back to 0, "012".
	p := rawPatch(t, header{0, 10, 8}, cmdBytes(command{seek: 3, addLen: 3, insLen: 2}, command{seek: -6, addLen: 3}), 1<<10)
	var out bytes.Buffer
	n, err := Apply(context.Background(), bytes.NewReader(old), 10, bytes.NewReader(p), &out, 8)
	if err != nil || n != 8 || out.String() != "345xx012" {
		t.Fatalf("Apply = %d, %v, %q; want 8, nil, %q", n, err, out.String(), "345xx012")
	}
}

func TestApplySparseDiff(t *testing.T) {
	t.Parallel()
	old := []byte("0123456789")
	// 2 unchanged "01", 3 changed "234" (+1, +0, +2) "336", 1 unchanged "5".
	cmds := append(appendCommand(nil, command{addLen: 6}), 2, 3, 1, 0, 2, 1, 0)
	p := rawPatch(t, header{0, 10, 6}, cmds, 1<<10)
	var out bytes.Buffer
	n, err := Apply(context.Background(), bytes.NewReader(old), 10, bytes.NewReader(p), &out, 6)
	if err != nil || n != 6 || out.String() != "013365" {
		t.Fatalf("Apply = %d, %v, %q; want 6, nil, %q", n, err, out.String(), "013365")
	}
}

func TestApplyCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := rawPatch(t, header{0, 0, 3}, cmdBytes(command{insLen: 3}), 1<<10)
	if _, err := Apply(ctx, bytes.NewReader(nil), 0, bytes.NewReader(p), io.Discard, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply: %v, want context.Canceled", err)
	}
}

// patternReader is an old file of any size that takes no memory: byte i is
// byte(i * 7).
type patternReader struct{}

func (patternReader) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		p[i] = byte((off + int64(i)) * 7)
	}
	return len(p), nil
}

// TestApplyMemoryBound checks the documented bound: what Apply allocates
// does not grow with the file sizes, and is at most the zstd window the
// patch declares (MaxWindow at worst) plus a fixed allowance. It measures
// the process's allocations, so it does not run in parallel with the rest.
func TestApplyMemoryBound(t *testing.T) {
	const size = 64 << 20
	tests := []struct {
		name   string
		window byte // log2 of the declared zstd window
		cmds   []byte
		limit  uint64
	}{
		// 64 MiB copied from old in 1 MiB commands, with a small window.
		{"copy 64 MiB, 64 KiB window", 16, copyCommands(size, 1<<20), 1 << 20},
		// The largest window a patch may declare: the bound is reached, not passed.
		{"copy 64 MiB, max window", 23, copyCommands(size, 1<<20), MaxWindow + 1<<20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := append(appendHeader(nil, header{0, size, size}), rawFrame(tt.window, tt.cmds)...)
			checkAllocs(t, p, size, size, tt.limit)
		})
	}
	t.Run("split, max windows", func(t *testing.T) {
		// 32 MiB copied and 32 MiB of literals in 1 MiB steps; the command
		// frame declares MaxWindow, the literal frame MaxLitWindow.
		var cs []command
		for range 32 {
			cs = append(cs, command{addLen: 1 << 20, insLen: 1 << 20})
		}
		lits := make([]byte, size/2)
		patternReader{}.ReadAt(lits, 3)
		lf, err := compress(lits, nil, zstd.SpeedFastest, MaxLitWindow)
		if err != nil {
			t.Fatal(err)
		}
		cf := rawFrame(23, splitCmds(cs...))
		p := binary.AppendUvarint(appendHeader(nil, header{FlagSplit, size, size}), uint64(len(cf)))
		p = append(append(p, cf...), lf...)
		checkAllocs(t, p, size, size, MaxWindow+MaxLitWindow+1<<20)
	})
	t.Run("dictionary of MaxDict", func(t *testing.T) {
		old := make([]byte, MaxDict)
		patternReader{}.ReadAt(old, 0)
		p, err := encode(header{FlagDict | FlagRaw, MaxDict, MaxDict}, old, old, zstd.SpeedFastest)
		if err != nil {
			t.Fatal(err)
		}
		checkAllocs(t, p, MaxDict, MaxDict, MaxDict+MaxWindow+1<<20)
	})
}

// checkAllocs applies p to patternReader and checks that it makes newSize
// bytes, allocating at most limit bytes.
func checkAllocs(t *testing.T, p []byte, oldSize, newSize int64, limit uint64) {
	t.Helper()
	w := &capWriter{max: newSize}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Apply(context.Background(), patternReader{}, oldSize, bytes.NewReader(p), w, newSize)
	runtime.ReadMemStats(&after)
	if err != nil || w.n != newSize {
		t.Fatalf("Apply wrote %d: %v", w.n, err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Errorf("Apply allocated %d bytes, want at most %d", got, limit)
	} else {
		t.Logf("Apply allocated %d bytes for %d MiB", got, newSize>>20)
	}
}

// copyCommands returns commands that copy size bytes of old unchanged, in
// steps of step bytes.
func copyCommands(size, step int) []byte {
	var cs []command
	for i := 0; i < size; i += step {
		cs = append(cs, command{addLen: int64(step)})
	}
	return cmdBytes(cs...)
}

func ExampleApply() {
	old := []byte("hello, world\n")
	new := []byte("hello, brave new world\n")
	var patch bytes.Buffer
	if err := Diff(old, new, &patch, Options{}); err != nil {
		panic(err)
	}
	var out bytes.Buffer
	n, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), &patch, &out, int64(len(new)))
	fmt.Println(n, err, out.String() == string(new))
	// Output: 23 <nil> true
}
