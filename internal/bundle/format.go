package bundle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/delta"
)

// Errors returned by this package. Every one of them means "discard the
// output and take the per-file path".
var (
	// ErrFormat: not a bundle, or of a version or flags this package does
	// not read.
	ErrFormat = errors.New("bundle: not a bundle of a known format")
	// ErrBase: the bundle was made for another old release or another new
	// note size than the device's.
	ErrBase = errors.New("bundle: does not fit the installed release")
	// ErrCorrupt: the bundle is damaged or hostile.
	ErrCorrupt = errors.New("bundle: corrupt")
	// ErrTooLarge: the bundle needs more memory or makes more output than
	// the limits allow.
	ErrTooLarge = errors.New("bundle: over the limit")
	// ErrMismatch: the bundle decoded cleanly but made a manifest note
	// whose SHA-256 is not the expected one.
	ErrMismatch = errors.New("bundle: made a manifest the pointer does not name")
)

const (
	// Magic starts every bundle.
	Magic = "FBDL"
	// Version is the format version this package writes.
	Version = 1
	// MaxDict caps the dictionary (old note and bases), held in memory.
	MaxDict = delta.MaxDict
	// MaxWindow caps the zstd window a bundle may declare.
	MaxWindow = delta.MaxWindow
	// MaxContent caps the bytes of file content one bundle makes.
	MaxContent = 16 << 20
	// digestHex is the length of a SHA-256 in a manifest line.
	digestHex = 64
)

// MaxSize is the largest bundle an honest publisher makes for a new note of
// noteSize bytes: the note and MaxContent, stored raw if they do not
// compress (zstd adds 3 bytes per 128 KiB block), and at most 1 MiB of
// header. A device downloads no more.
func MaxSize(noteSize int64) int64 {
	return noteSize + MaxContent + (noteSize+MaxContent)/1024 + 1<<20
}

// zstdMagic starts every zstd frame; bundles leave it out.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// header is the uncompressed start of a bundle.
type header struct {
	oldNote, newNote int64
	bases, files     []int // ascending indexes into the old and new manifests' files
}

func appendHeader(b []byte, h header) []byte {
	b = append(b, Magic...)
	b = append(b, Version, 0)
	b = binary.AppendUvarint(b, uint64(h.oldNote))
	b = binary.AppendUvarint(b, uint64(h.newNote))
	return appendIndexes(appendIndexes(b, h.bases), h.files)
}

func appendIndexes(b []byte, idx []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(idx)))
	prev := -1
	for _, i := range idx {
		b = binary.AppendUvarint(b, uint64(i-prev))
		prev = i
	}
	return b
}

// readHeader reads a header whose old indexes must be below oldFiles and
// whose new indexes are at most maxFiles many.
func readHeader(r *bufio.Reader, oldFiles, maxFiles int) (header, error) {
	var h header
	var m [len(Magic) + 2]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return h, fmt.Errorf("%w: short header: %v", ErrFormat, err)
	}
	switch {
	case string(m[:len(Magic)]) != Magic:
		return h, fmt.Errorf("%w: magic %q", ErrFormat, m[:len(Magic)])
	case m[len(Magic)] != Version:
		return h, fmt.Errorf("%w: version %d", ErrFormat, m[len(Magic)])
	case m[len(Magic)+1] != 0:
		return h, fmt.Errorf("%w: flags %#x", ErrFormat, m[len(Magic)+1])
	}
	var err error
	if h.oldNote, err = readUint(r, 1<<40, "old note size"); err != nil {
		return h, err
	}
	if h.newNote, err = readUint(r, 1<<40, "new note size"); err != nil {
		return h, err
	}
	if h.bases, err = readIndexes(r, oldFiles, oldFiles, "bases"); err != nil {
		return h, err
	}
	h.files, err = readIndexes(r, maxFiles, 1<<30, "files")
	return h, err
}

// readIndexes reads at most maxCount ascending indexes below limit.
func readIndexes(r io.ByteReader, maxCount, limit int, what string) ([]int, error) {
	n, err := readUint(r, int64(maxCount), what+" count")
	if err != nil {
		return nil, err
	}
	idx := make([]int, 0, n)
	prev := int64(-1)
	for range n {
		gap, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
		}
		if gap == 0 || gap > uint64(limit) || prev+int64(gap) >= int64(limit) {
			return nil, fmt.Errorf("%w: %s: gap %d after index %d (limit %d)", ErrCorrupt, what, gap, prev, limit)
		}
		prev += int64(gap)
		idx = append(idx, int(prev))
	}
	return idx, nil
}

func readUint(r io.ByteReader, max int64, what string) (int64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	if v > uint64(max) {
		return 0, fmt.Errorf("%w: %s %d, limit %d", ErrTooLarge, what, v, max)
	}
	return int64(v), nil
}

// fileLine locates one file line of a manifest note: its index among the
// file lines, the offset of its digest field, and the line itself.
type fileLine struct {
	index  int
	digest int // offset in the note of the 64 hex digits
	line   []byte
}

// fileLines calls fn for the file lines of a note's text whose indexes are
// in want (ascending), and returns an error if one is missing or is not a
// SHA-256 ("f") line. The file lines are those after the "files N" line.
func fileLines(note []byte, want []int, fn func(fileLine) error) error {
	text := note
	if i := bytes.LastIndex(note, []byte("\n\n")); i >= 0 {
		text = note[:i+1]
	}
	off, inFiles, k := 0, false, 0
	idx := -1
	for off < len(text) && k < len(want) {
		end := bytes.IndexByte(text[off:], '\n')
		if end < 0 {
			break
		}
		line := text[off : off+end]
		switch {
		case inFiles:
			idx++
			if idx == want[k] {
				d, err := digestField(line, idx)
				if err != nil {
					return err
				}
				if err := fn(fileLine{index: idx, digest: off + d, line: line}); err != nil {
					return err
				}
				k++
			}
		case bytes.HasPrefix(line, []byte("files ")):
			inFiles = true
		}
		off += end + 1
	}
	if k < len(want) {
		return fmt.Errorf("%w: the manifest has no file line %d", ErrCorrupt, want[k])
	}
	return nil
}

// digestField returns the offset in line of "f MODE SIZE ZSIZE SHA256 PATH"'s digest.
func digestField(line []byte, idx int) (int, error) {
	if !bytes.HasPrefix(line, []byte("f ")) {
		return 0, fmt.Errorf("%w: file line %d is not a SHA-256 line", ErrCorrupt, idx)
	}
	off := 0
	for range 4 {
		sp := bytes.IndexByte(line[off:], ' ')
		if sp < 0 {
			return 0, fmt.Errorf("%w: file line %d is short", ErrCorrupt, idx)
		}
		off += sp + 1
	}
	if len(line) < off+digestHex+2 || line[off+digestHex] != ' ' {
		return 0, fmt.Errorf("%w: file line %d has no digest", ErrCorrupt, idx)
	}
	return off, nil
}
