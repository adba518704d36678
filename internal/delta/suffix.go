package delta

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"index/suffixarray"
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
	idx := suffixarray.New(data)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(idx.Write(pw)) }()
	sa, err := readSuffixArray(bufio.NewReaderSize(pr, 1<<20), len(data))
	pr.CloseWithError(err)
	return sa, err
}

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
