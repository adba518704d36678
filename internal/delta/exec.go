package delta

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// applier is the state of one Apply.
type applier struct {
	old        io.ReaderAt
	oldSize    int64
	pos        int64 // current position in old
	out        io.Writer
	left       int64         // bytes still to write
	cmds, lits *bufio.Reader // the same reader unless FlagSplit
	decs       []*zstd.Decoder
	asInt      bool // changed runs are added as integers (FlagSplit)
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

// end checks that the streams end after the declared size.
func (a *applier) end() error {
	for _, r := range []*bufio.Reader{a.cmds, a.lits} {
		if _, err := r.ReadByte(); err != io.EOF {
			if err == nil {
				return fmt.Errorf("%w: data after the declared end", ErrCorrupt)
			}
			return corrupt("end of stream", err)
		}
	}
	return nil
}

// exec checks c against the old file and the bytes left, then executes it.
func (a *applier) exec(ctx context.Context, c command) error {
	if c.addLen > a.left || c.insLen > a.left-c.addLen {
		return fmt.Errorf("%w: command writes %d+%d bytes, %d left", ErrCorrupt, c.addLen, c.insLen, a.left)
	}
	if np := a.pos + c.seek; np < 0 || np > a.oldSize {
		return fmt.Errorf("%w: seek by %d from %d leaves the %d-byte old file", ErrCorrupt, c.seek, a.pos, a.oldSize)
	}
	a.pos += c.seek
	if c.addLen > a.oldSize-a.pos {
		return fmt.Errorf("%w: command reads %d bytes at %d of a %d-byte old file", ErrCorrupt, c.addLen, a.pos, a.oldSize)
	}
	if err := a.add(ctx, c.addLen); err != nil {
		return err
	}
	return a.insert(ctx, c.insLen)
}

// add writes n bytes of old, changed by sparse differences: a run of
// unchanged bytes, then a run of bytes each added to a diff byte, and again.
func (a *applier) add(ctx context.Context, n int64) error {
	for n > 0 {
		same, err := readLen(a.cmds, n, "unchanged run")
		if err != nil {
			return err
		}
		changed, err := readLen(a.cmds, n-same, "changed run")
		if err != nil {
			return err
		}
		if same == 0 && changed == 0 {
			return fmt.Errorf("%w: empty run in a command", ErrCorrupt)
		}
		if err := a.copyOld(ctx, same, false); err != nil {
			return err
		}
		if err := a.copyOld(ctx, changed, true); err != nil {
			return err
		}
		n -= same + changed
	}
	return nil
}

// copyOld writes n bytes of old from the current position, each added to a
// diff byte from the patch if withDiff: byte by byte, or with asInt as
// little-endian integers of n bytes.
func (a *applier) copyOld(ctx context.Context, n int64, withDiff bool) error {
	var carry uint
	for n > 0 {
		o := a.obuf[:min(n, int64(len(a.obuf)))]
		if m, err := a.old.ReadAt(o, a.pos); m < len(o) {
			return fmt.Errorf("delta: reading old file at %d: %w", a.pos, errOr(err, io.ErrUnexpectedEOF))
		}
		if withDiff {
			d := a.dbuf[:len(o)]
			if _, err := io.ReadFull(a.cmds, d); err != nil {
				return corrupt("diff bytes", err)
			}
			if a.asInt {
				for i := range o {
					s := uint(o[i]) + uint(d[i]) + carry
					o[i], carry = byte(s), s>>8
				}
			} else {
				for i := range o {
					o[i] += d[i]
				}
			}
		}
		if err := a.write(ctx, o); err != nil {
			return err
		}
		a.pos += int64(len(o))
		n -= int64(len(o))
	}
	return nil
}

// insert copies n literal bytes from the patch.
func (a *applier) insert(ctx context.Context, n int64) error {
	for n > 0 {
		d := a.dbuf[:min(n, int64(len(a.dbuf)))]
		if _, err := io.ReadFull(a.lits, d); err != nil {
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

// readLen reads a uvarint length of at most max.
func readLen(r io.ByteReader, max int64, what string) (int64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, corrupt(what, err)
	}
	if v > uint64(max) {
		return 0, fmt.Errorf("%w: %s of %d bytes, %d left in the command", ErrCorrupt, what, v, max)
	}
	return int64(v), nil
}

// errOr returns err, or def when err is nil.
func errOr(err, def error) error {
	if err == nil {
		return def
	}
	return err
}
