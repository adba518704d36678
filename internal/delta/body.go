package delta

import (
	"bytes"
	"encoding/binary"
)

// body is the uncompressed content of a command patch: the command stream,
// and for FlagSplit the literal stream apart.
type body struct {
	cmds, lits []byte
}

// Gaps: the number of equal bytes in a row that end a run of changed bytes,
// measured on Go executables. Version-1 runs are added byte by byte, and
// 2 is best; FlagSplit runs are added as integers, and 1 is best.
const (
	gapV1    = 2
	gapSplit = 1
)

// v1Body returns the version-1 command stream of es: commands, each followed
// by its add runs and its literal bytes.
func v1Body(old, new []byte, es []edit) []byte {
	var b []byte
	pos := 0
	for _, e := range es {
		b = appendCommand(b, command{seek: int64(e.oldPos - pos), addLen: int64(e.addLen), insLen: int64(e.insLen)})
		b = appendRuns(b, new[e.newPos:e.newPos+e.addLen], old[e.oldPos:e.oldPos+e.addLen], gapV1, false)
		b = append(b, new[e.newPos+e.addLen:e.newPos+e.addLen+e.insLen]...)
		pos = e.oldPos + e.addLen
	}
	return b
}

// splitBody returns the FlagSplit streams of es: the commands with their
// add runs (differences as integers), and the literal bytes apart.
func splitBody(old, new []byte, es []edit) body {
	var b body
	pos := 0
	for _, e := range es {
		b.cmds = appendCommand(b.cmds, command{seek: int64(e.oldPos - pos), addLen: int64(e.addLen), insLen: int64(e.insLen)})
		b.cmds = appendRuns(b.cmds, new[e.newPos:e.newPos+e.addLen], old[e.oldPos:e.oldPos+e.addLen], gapSplit, true)
		b.lits = append(b.lits, new[e.newPos+e.addLen:e.newPos+e.addLen+e.insLen]...)
		pos = e.oldPos + e.addLen
	}
	return b
}

// appendRuns appends nw as sparse differences from old (of the same
// length): runs of equal bytes, each followed by a run of changed bytes that
// ends before gap equal bytes in a row, as differences: byte by byte, or,
// with asInt, as one little-endian integer (so that an address moved by a
// constant gives the same bytes whatever the carries). Long zero runs are
// where bsdiff's diff stream spends most of its bytes; a length is cheaper.
func appendRuns(b, nw, old []byte, gap int, asInt bool) []byte {
	for i := 0; i < len(nw); {
		start := i
		for i < len(nw) && nw[i] == old[i] {
			i++
		}
		mid := i
		for i < len(nw) && !equalRun(nw[i:], old[i:], gap) {
			i++
		}
		b = binary.AppendUvarint(b, uint64(mid-start))
		b = binary.AppendUvarint(b, uint64(i-mid))
		borrow := byte(0)
		for j := mid; j < i; j++ {
			d := nw[j] - old[j] - borrow
			if asInt {
				borrow = carryOut(nw[j], old[j], borrow)
			}
			b = append(b, d)
		}
	}
	return b
}

// carryOut returns the borrow of the subtraction n - o - borrow.
func carryOut(n, o, borrow byte) byte {
	if int(n)-int(o)-int(borrow) < 0 {
		return 1
	}
	return 0
}

// equalRun reports whether nw and old start with gap equal bytes, or are
// equal to their end.
func equalRun(nw, old []byte, gap int) bool {
	n := min(gap, len(nw))
	return bytes.Equal(nw[:n], old[:n])
}
