package delta

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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

// applier is the state of one Apply.
type applier struct {
	old        io.ReaderAt
	oldSize    int64
	pos        int64 // current position in old
	out        io.Writer
	left       int64 // bytes still to write
	cmds       *bufio.Reader
	obuf, dbuf []byte
}

// raw copies the new file from the stream, then checks that it ends there.
func (a *applier) raw(ctx context.Context) error {
	if err := a.insert(ctx, a.left); err != nil {
		return err
	}
	return a.end()
}

// run executes commands until the declared size is written, then checks that
// the stream ends there.
func (a *applier) run(ctx context.Context) error {
	for a.left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := readCommand(a.cmds)
		if err != nil {
			return err
		}
		if err := a.exec(ctx, c); err != nil {
			return err
		}
	}
	return a.end()
}

// end checks that the stream ends after the declared size.
func (a *applier) end() error {
	if _, err := a.cmds.ReadByte(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w: data after the declared end", ErrCorrupt)
		}
		return corrupt("end of stream", err)
	}
	return nil
}

// exec checks c against the old file and the bytes left, then executes it.
func (a *applier) exec(ctx context.Context, c command) error {
	if c.addLen > a.left || c.insLen > a.left-c.addLen {
		return fmt.Errorf("%w: command writes %d+%d bytes, %d left", ErrCorrupt, c.addLen, c.insLen, a.left)
	}
	if c.addLen > a.oldSize-a.pos {
		return fmt.Errorf("%w: command reads %d bytes at %d of a %d-byte old file", ErrCorrupt, c.addLen, a.pos, a.oldSize)
	}
	if err := a.add(ctx, c.addLen); err != nil {
		return err
	}
	if err := a.insert(ctx, c.insLen); err != nil {
		return err
	}
	if np := a.pos + c.seek; np < 0 || np > a.oldSize {
		return fmt.Errorf("%w: seek by %d from %d leaves the %d-byte old file", ErrCorrupt, c.seek, a.pos, a.oldSize)
	}
	a.pos += c.seek
	return nil
}

// add writes n bytes, each the sum of an old byte and a diff byte.
func (a *applier) add(ctx context.Context, n int64) error {
	for n > 0 {
		k := int(min(n, int64(len(a.dbuf))))
		d, o := a.dbuf[:k], a.obuf[:k]
		if _, err := io.ReadFull(a.cmds, d); err != nil {
			return corrupt("diff bytes", err)
		}
		if m, err := a.old.ReadAt(o, a.pos); m < k {
			return fmt.Errorf("delta: reading old file at %d: %w", a.pos, errOr(err, io.ErrUnexpectedEOF))
		}
		for i := range d {
			d[i] += o[i]
		}
		if err := a.write(ctx, d); err != nil {
			return err
		}
		a.pos += int64(k)
		n -= int64(k)
	}
	return nil
}

// insert copies n literal bytes from the patch.
func (a *applier) insert(ctx context.Context, n int64) error {
	for n > 0 {
		d := a.dbuf[:min(n, int64(len(a.dbuf)))]
		if _, err := io.ReadFull(a.cmds, d); err != nil {
			return corrupt("literal bytes", err)
		}
		if err := a.write(ctx, d); err != nil {
			return err
		}
		n -= int64(len(d))
	}
	return nil
}

// write writes p to out, counting it against the declared size.
func (a *applier) write(ctx context.Context, p []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := a.out.Write(p); err != nil {
		return fmt.Errorf("delta: writing new file: %w", err)
	}
	a.left -= int64(len(p))
	return nil
}

// errOr returns err, or def when err is nil.
func errOr(err, def error) error {
	if err == nil {
		return def
	}
	return err
}

// zstdErrReader maps the decoder's window errors to ErrTooLarge and its
// other errors to ErrCorrupt, keeping io.EOF as is.
type zstdErrReader struct{ r io.Reader }

func (z zstdErrReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		err = fmt.Errorf("%w: %w", ErrTooLarge, err)
	default:
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return n, err
}
