package publish

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	mpatchKey   = 8       // bytes of a match key: the index's unit
	mpatchMin   = 12      // shortest copy worth a command (5 or so bytes) over a literal
	mpatchChain = 16      // candidates tried per position
	mpatchDense = 8 << 20 // old content up to this size is indexed at every offset
	mpatchStep  = 32      // larger old content: every 32nd offset
)

// ErrMPatch means a MicroPython patch does not decode or does not fit the
// old content.
var ErrMPatch = errors.New("bad MicroPython patch")

// MakeMPatch returns the MicroPython patch from old to new, zlib-encoded.
// Copies are found greedily, the longest of up to mpatchChain candidates
// that share the next 8 bytes (every offset of old is a candidate when old
// is at most 8 MiB, every 32nd otherwise), extended backwards into the
// pending literal; the rest is literal bytes, left to zlib.
func MakeMPatch(old, new []byte) ([]byte, error) {
	var cmds bytes.Buffer
	cmds.WriteString(mpatchMagic)
	cmds.Write(binary.AppendUvarint(nil, uint64(len(new))))
	ix := newMIndex(old)
	lit := 0 // start of the pending literal
	for j := 0; j+mpatchKey <= len(new); {
		i, n := ix.longest(old, new, j)
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

// mindex finds the offsets of old that start with a given 8 bytes: head
// holds the earliest indexed offset of each key, prev the next one after
// each offset with the same key (a chain, as in deflate's). Earliest first:
// in repetitive content the earliest match runs longest.
type mindex struct {
	head map[uint64]int32
	prev []int32
	step int
}

func newMIndex(old []byte) *mindex {
	ix := &mindex{head: map[uint64]int32{}, step: 1}
	if len(old) > mpatchDense {
		ix.step = mpatchStep
	}
	ix.prev = make([]int32, len(old)/ix.step+1)
	last := (len(old) - mpatchKey) / ix.step * ix.step
	for i := last; i >= 0; i -= ix.step { // from the end: each chain starts at the earliest offset
		if i+mpatchKey > len(old) {
			continue
		}
		k := binary.LittleEndian.Uint64(old[i:])
		p, ok := ix.head[k]
		if !ok {
			p = -1
		}
		ix.prev[i/ix.step] = p
		ix.head[k] = int32(i)
	}
	return ix
}

// longest returns the offset in old and length of the longest match of
// new[j:] among the candidates, or 0 for none.
func (ix *mindex) longest(old, new []byte, j int) (int, int) {
	p, ok := ix.head[binary.LittleEndian.Uint64(new[j:])]
	best, bestN := 0, 0
	for tries := 0; ok && p >= 0 && tries < mpatchChain; tries++ {
		i := int(p)
		n := 0
		for j+n < len(new) && i+n < len(old) && new[j+n] == old[i+n] {
			n++
		}
		if n > bestN {
			best, bestN = i, n
		}
		p = ix.prev[i/ix.step]
	}
	return best, bestN
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
