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
// MaxWindow) whatever the file sizes.
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
	dec, err := newDecoder(old, h, io.MultiReader(bytes.NewReader(zstdMagic), pr))
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	a := &applier{
		old: old, oldSize: oldSize, out: out, left: h.newSize,
		cmds: bufio.NewReaderSize(zstdErrReader{dec}, bufSize),
		obuf: make([]byte, bufSize), dbuf: make([]byte, bufSize),
	}
	if h.flags&FlagRaw != 0 {
		err = a.raw(ctx)
	} else {
		err = a.run(ctx)
	}
	return h.newSize - a.left, err
}

// newDecoder returns a zstd decoder of r whose window is at most MaxWindow
// and, for FlagDict, whose dictionary is old, read into memory.
func newDecoder(old io.ReaderAt, h header, r io.Reader) (*zstd.Decoder, error) {
	opts := []zstd.DOption{zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(MaxWindow), zstd.WithDecoderMaxMemory(MaxWindow)}
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
