package publish

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/mbundle"
)

// MicroPython patches (layout.MPatch): a zlib stream (the .z blob's window)
// of a command stream that rebuilds the new content from the old file a
// board holds, seeking in it, in bounded memory:
//
//	"FMP1" uvarint(new size)
//	('C' uvarint(offset) uvarint(length))   copy from the old file
//	('L' uvarint(length) bytes)             literal bytes
//	'E'                                     end
//
// Numbers are unsigned LEB128 (encoding/binary's Uvarint). A board checks
// the result by its SHA-256 as for a blob.

const (
	mpatchMagic = "FMP1"
	mpatchMin   = 12 // shortest copy worth a command (5 or so bytes) over a literal
)

// ErrMPatch means a MicroPython patch does not decode or does not fit the
// old content.
var ErrMPatch = errors.New("bad MicroPython patch")

// MakeMPatch returns the MicroPython patch from old to new, zlib-encoded.
// Copies are found greedily by mbundle.Index (the longest of up to 16
// candidates that share the next 8 bytes; every offset of old is a
// candidate when old is at most 8 MiB, every 32nd otherwise), extended
// backwards into the pending literal; the rest is literal bytes, left to
// zlib.
func MakeMPatch(old, new []byte) ([]byte, error) {
	var cmds bytes.Buffer
	cmds.WriteString(mpatchMagic)
	cmds.Write(binary.AppendUvarint(nil, uint64(len(new))))
	ix := mbundle.NewIndex(old)
	lit := 0 // start of the pending literal
	for j := 0; j+mbundle.KeySize <= len(new); {
		i, n := ix.Longest(new, j)
		b := 0
		for n > 0 && j-b > lit && i-b > 0 && new[j-b-1] == old[i-b-1] { // extend backwards into the literal
			b++
		}
		if n+b < mpatchMin {
			j++
			continue
		}
		writeLiteral(&cmds, new[lit:j-b])
		cmds.WriteByte('C')
		cmds.Write(binary.AppendUvarint(nil, uint64(i-b)))
		cmds.Write(binary.AppendUvarint(nil, uint64(n+b)))
		j += n
		lit = j
	}
	writeLiteral(&cmds, new[lit:])
	cmds.WriteByte('E')
	var out bytes.Buffer
	if _, err := EncodeZlib(&out, &cmds); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func writeLiteral(w *bytes.Buffer, b []byte) {
	if len(b) == 0 {
		return
	}
	w.WriteByte('L')
	w.Write(binary.AppendUvarint(nil, uint64(len(b))))
	w.Write(b)
}

// ApplyMPatch rebuilds the new content from old and the decoded command
// stream cmds (the zlib layer already removed), as a board does; for tests
// and checks.
func ApplyMPatch(old io.ReaderAt, cmds io.Reader, maxSize int64) ([]byte, error) {
	r := bufio.NewReader(cmds)
	magic := make([]byte, len(mpatchMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != mpatchMagic {
		return nil, fmt.Errorf("%w: no %q header", ErrMPatch, mpatchMagic)
	}
	size, err := binary.ReadUvarint(r)
	if err != nil || maxSize < 0 || size > uint64(maxSize) {
		return nil, fmt.Errorf("%w: new size %d over %d", ErrMPatch, size, maxSize)
	}
	out := make([]byte, 0, size)
	for {
		op, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("%w: no end command", ErrMPatch)
		}
		if op == 'E' {
			break
		}
		if out, err = applyOne(out, op, r, old, size); err != nil {
			return nil, err
		}
	}
	if uint64(len(out)) != size {
		return nil, fmt.Errorf("%w: %d bytes made, header says %d", ErrMPatch, len(out), size)
	}
	return out, nil
}

func applyOne(out []byte, op byte, r *bufio.Reader, old io.ReaderAt, size uint64) ([]byte, error) {
	var off uint64
	var err error
	if op == 'C' {
		if off, err = binary.ReadUvarint(r); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMPatch, err)
		}
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || uint64(len(out))+n > size || (op != 'C' && op != 'L') {
		return nil, fmt.Errorf("%w: command %q of %d bytes at %d", ErrMPatch, op, n, len(out))
	}
	buf := make([]byte, n)
	if op == 'C' {
		_, err = old.ReadAt(buf, int64(off))
	} else {
		_, err = io.ReadFull(r, buf)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: command %q: %w", ErrMPatch, op, err)
	}
	return append(out, buf...), nil
}
