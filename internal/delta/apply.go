package delta

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Apply writes to out the new file that patch makes from old, and returns
// the number of bytes written. old is read by position (oldSize bytes), the
// patch is read once from start to end, and out is written as a stream, so
// memory stays a fixed few hundred KiB plus the zstd window (at most
// MaxWindow) whatever the file sizes; plus, for FlagDict, old (at most
// MaxDict), and for FlagSplit, the command frame (at most MaxCommandFrame)
// and the literal frame's window (at most MaxLitWindow).
//
// maxOut is the size the caller expects, from the signed manifest: a patch
// that declares more fails with ErrTooLarge before anything is written, and
// Apply never writes more than the declared size. The result is not trusted
// until the caller has checked its SHA-256; on any error the caller discards
// what was written and falls back to the full blob.
func Apply(ctx context.Context, old io.ReaderAt, oldSize int64, patch io.Reader, out io.Writer, maxOut int64) (int64, error) {
	pr := bufio.NewReaderSize(patch, bufSize)
	h, err := readHeader(pr)
	if err != nil {
		return 0, err
	}
	if h.oldSize != oldSize {
		return 0, fmt.Errorf("%w: made for an old file of %d bytes, not %d", ErrBase, h.oldSize, oldSize)
	}
	if h.newSize > maxOut {
		return 0, fmt.Errorf("%w: patch makes %d bytes, limit is %d", ErrTooLarge, h.newSize, maxOut)
	}
	a := &applier{old: old, oldSize: oldSize, out: out, left: h.newSize, asInt: h.flags&FlagSplit != 0,
		obuf: make([]byte, bufSize), dbuf: make([]byte, bufSize)}
	if err := a.open(old, h, pr); err != nil {
		return 0, err
	}
	defer a.close()
	if h.flags&FlagRaw != 0 {
		err = a.raw(ctx)
	} else {
		err = a.run(ctx)
	}
	return h.newSize - a.left, err
}

// open sets up the decoders of the patch's streams, which follow the
// header in pr.
func (a *applier) open(old io.ReaderAt, h header, pr *bufio.Reader) error {
	if h.flags&FlagSplit == 0 {
		dec, err := newDecoder(old, h, MaxWindow, withMagic(pr))
		if err != nil {
			return err
		}
		a.decs = append(a.decs, dec)
		a.cmds = bufio.NewReaderSize(streamErrors.Reader(dec), bufSize)
		a.lits = a.cmds
		return nil
	}
	n, err := readSize(pr, "command frame size")
	if err != nil {
		return err
	}
	if n > MaxCommandFrame {
		return fmt.Errorf("%w: command frame of %d bytes, limit is %d", ErrTooLarge, n, MaxCommandFrame)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(pr, frame); err != nil {
		return corrupt("command frame", err)
	}
	for _, s := range []struct {
		r      io.Reader
		window uint64
		dst    **bufio.Reader
	}{{bytes.NewReader(frame), MaxWindow, &a.cmds}, {pr, MaxLitWindow, &a.lits}} {
		dec, err := newDecoder(old, h, s.window, withMagic(s.r))
		if err != nil {
			a.close()
			return err
		}
		a.decs = append(a.decs, dec)
		*s.dst = bufio.NewReaderSize(streamErrors.Reader(dec), bufSize)
	}
	return nil
}

// close releases the decoders.
func (a *applier) close() {
	for _, d := range a.decs {
		d.Close()
	}
}

// withMagic returns r with the zstd magic number the patch leaves out
// put back.
func withMagic(r io.Reader) io.Reader {
	return io.MultiReader(bytes.NewReader(zstdMagic), r)
}

// newDecoder returns a zstd decoder of r whose window is at most window
// and, for FlagDict, whose dictionary is old, read into memory.
func newDecoder(old io.ReaderAt, h header, window uint64, r io.Reader) (*zstd.Decoder, error) {
	opts := []zstd.DOption{zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(window), zstd.WithDecoderMaxMemory(window)}
	if h.flags&FlagDict != 0 {
		if h.oldSize > MaxDict {
			return nil, fmt.Errorf("%w: dictionary of %d bytes, limit is %d", ErrTooLarge, h.oldSize, MaxDict)
		}
		dict := make([]byte, h.oldSize)
		if n, err := old.ReadAt(dict, 0); n < len(dict) {
			return nil, fmt.Errorf("delta: reading old file: %w", errOr(err, io.ErrUnexpectedEOF))
		}
		opts = append(opts, zstd.WithDecoderDictRaw(dictID, dict))
	}
	dec, err := zstd.NewReader(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("delta: zstd decoder: %w", err)
	}
	return dec, nil
}
