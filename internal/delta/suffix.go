package delta

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// suffixArray returns the suffix array of data: the start offsets of all its
// suffixes in lexical order. It is built by the standard library's SA-IS
// (index/suffixarray), whose array is not exported; it is read back from the
// index's serialized form (a varint length, the data, then chunks of a
// varint byte count followed by uvarint offsets). A test checks the result.
func suffixArray(data []byte) ([]int32, error) {
	if len(data) >= 1<<31-1 {
		return nil, fmt.Errorf("%w: old file of %d bytes is too large to index", ErrTooLarge, len(data))
	}
	if writeIndex == nil {
		return nil, errors.New("delta: Diff needs a suffix-array builder: import internal/delta/deltagen and call its Diff")
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeIndex(data, pw)) }()
	sa, err := readSuffixArray(bufio.NewReaderSize(pr, 1<<20), len(data))
	pr.CloseWithError(err)
	return sa, err
}

// writeIndex serializes index/suffixarray's index of data. It is set by
// package deltagen (and by this package's tests), so that agents, which only
// Apply, do not link the generator's suffix-array code.
var writeIndex func(data []byte, w io.Writer) error

// UseIndexWriter sets the suffix-array serializer Diff uses. Package deltagen
// calls it with index/suffixarray's; nothing else needs to.
func UseIndexWriter(fn func(data []byte, w io.Writer) error) { writeIndex = fn }

// readSuffixArray parses the serialized index of n bytes of data.
func readSuffixArray(r *bufio.Reader, n int) ([]int32, error) {
	var fixed [binary.MaxVarintLen64]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return nil, fmt.Errorf("delta: reading suffix array: %w", err)
	}
	if got, _ := binary.Varint(fixed[:]); got != int64(n) {
		return nil, fmt.Errorf("delta: suffix array of %d bytes, want %d", got, n)
	}
	if _, err := r.Discard(n); err != nil {
		return nil, fmt.Errorf("delta: reading suffix array: %w", err)
	}
	sa := make([]int32, 0, n)
	for len(sa) < n {
		if _, err := io.ReadFull(r, fixed[:]); err != nil {
			return nil, fmt.Errorf("delta: reading suffix array: %w", err)
		}
		size, _ := binary.Varint(fixed[:])
		if size < binary.MaxVarintLen64 || size > 1<<20 {
			return nil, fmt.Errorf("delta: suffix array chunk of %d bytes", size)
		}
		chunk := make([]byte, size-binary.MaxVarintLen64)
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, fmt.Errorf("delta: reading suffix array: %w", err)
		}
		for cr := bytes.NewReader(chunk); cr.Len() > 0; {
			v, err := binary.ReadUvarint(cr)
			if err != nil || v >= uint64(n) {
				return nil, fmt.Errorf("delta: bad suffix array entry %d: %v", v, err)
			}
			sa = append(sa, int32(v))
		}
	}
	return sa, nil
}
