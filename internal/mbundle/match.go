package mbundle

import "encoding/binary"

// The copy finder of the boards' command streams (bundles here, and the
// .mpatch patches of package publish): greedy, the longest of up to
// matchChain candidates that share the next KeySize bytes, extended
// backwards into the pending literal; the rest is literal bytes, left to
// zlib.
const (
	// KeySize is the bytes of a match key: Index finds no shorter match.
	KeySize    = 8
	matchKey   = KeySize
	matchMin   = 10      // shortest copy worth a command over a literal
	matchChain = 16      // candidates tried per position
	matchDense = 8 << 20 // sources up to this size are indexed at every offset
	matchStep  = 32      // larger sources: every 32nd offset
)

// Index finds the offsets of a source that start with a given 8 bytes:
// head holds the earliest indexed offset of each key, prev the next one
// after each offset with the same key (a chain, as in deflate's). Earliest
// first: in repetitive content the earliest match runs longest. Every
// offset of a source of up to 8 MiB is indexed, every 32nd of a larger one.
type Index struct {
	src  []byte
	head map[uint64]int32
	prev []int32
	step int
}

// NewIndex indexes src.
func NewIndex(src []byte) *Index {
	ix := &Index{src: src, head: map[uint64]int32{}, step: 1}
	if len(src) > matchDense {
		ix.step = matchStep
	}
	ix.prev = make([]int32, len(src)/ix.step+1)
	for i := (len(src) - matchKey) / ix.step * ix.step; i >= 0; i -= ix.step {
		if i+matchKey > len(src) {
			continue
		}
		k := binary.LittleEndian.Uint64(src[i:])
		p, ok := ix.head[k]
		if !ok {
			p = -1
		}
		ix.prev[i/ix.step] = p
		ix.head[k] = int32(i)
	}
	return ix
}

// Longest returns the offset in the source and the length of the longest
// match of new[j:] among the candidates (length 0: none); new[j:] must
// have at least KeySize bytes.
func (ix *Index) Longest(new []byte, j int) (int, int) {
	p, ok := ix.head[binary.LittleEndian.Uint64(new[j:])]
	best, bestN := 0, 0
	for tries := 0; ok && p >= 0 && tries < matchChain; tries++ {
		i := int(p)
		n := 0
		for j+n < len(new) && i+n < len(ix.src) && new[j+n] == ix.src[i+n] {
			n++
		}
		if n > bestN {
			best, bestN = i, n
		}
		p = ix.prev[i/ix.step]
	}
	return best, bestN
}

// appendCommands appends the commands that make new from ix's source (nil:
// literals only); pos is the bytes of the content made before new (copy
// offsets are relative to the output position).
func appendCommands(b []byte, ix *Index, new []byte, pos int) []byte {
	lit := 0
	for j := 0; ix != nil && j+matchKey <= len(new); {
		i, n := ix.Longest(new, j)
		k := 0
		for n > 0 && j-k > lit && i-k > 0 && new[j-k-1] == ix.src[i-k-1] {
			k++
		}
		if n+k < matchMin {
			j++
			continue
		}
		b = appendLiteral(b, new[lit:j-k])
		b = append(b, opCopy)
		b = appendZigzag(b, int64(i-k)-int64(pos+j-k))
		b = appendUvarint(b, int64(n+k))
		j += n
		lit = j
	}
	return appendLiteral(b, new[lit:])
}

func appendLiteral(b, lit []byte) []byte {
	if len(lit) == 0 {
		return b
	}
	b = append(b, opLiteral)
	b = appendUvarint(b, int64(len(lit)))
	return append(b, lit...)
}
