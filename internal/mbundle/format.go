package mbundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/boardzlib"

	"github.com/ferry-ota/ferry/internal/layout"
)

// Errors returned by Apply. ErrBase means "take the per-file path"; the
// others mean the bundle is refused.
var (
	// ErrFormat: not a version-1 bundle.
	ErrFormat = errors.New("mbundle: not a MicroPython bundle of a known format")
	// ErrCorrupt: the bundle is damaged or hostile.
	ErrCorrupt = errors.New("mbundle: corrupt")
	// ErrTooLarge: the bundle declares more than the caps allow.
	ErrTooLarge = errors.New("mbundle: over the limit")
	// ErrBase: a base file does not hold the content of its old manifest
	// line (changed on the device): the bundle does not apply.
	ErrBase = errors.New("mbundle: a base file is not the installed one")
	// ErrMismatch: the bundle decoded cleanly but made a manifest note
	// whose SHA-256 is not the expected one.
	ErrMismatch = errors.New("mbundle: made a manifest the pointer does not name")
)

const (
	// Magic starts the decoded stream of every version-1 bundle.
	Magic = "FMB1"
	// digestHex is the length of a SHA-256 in a manifest line.
	digestHex = 64
	opCopy    = 'C'
	opLiteral = 'L'
	opHash    = 'H'
	opEnd     = 'E'
)

// MaxSize is the most bytes a bundle may have for a new note of noteSize
// bytes and content bytes of files: a board caps its download at
// MaxSize(pointer's note size, max_total_mb).
func MaxSize(noteSize, content int64) int64 { return layout.ZlibCap(noteSize+content) + 1024 }

func appendUvarint(b []byte, v int64) []byte { return binary.AppendUvarint(b, uint64(v)) }

func appendZigzag(b []byte, v int64) []byte { return binary.AppendUvarint(b, uint64(v<<1^v>>63)) }

// zlibEncode returns cmds as a zlib stream whose deflate window is
// 2^layout.ZlibWindowBits bytes, as the board decodes it.
func zlibEncode(cmds []byte) ([]byte, error) {
	var out bytes.Buffer
	if _, err := boardzlib.Encode(&out, bytes.NewReader(cmds)); err != nil {
		return nil, fmt.Errorf("mbundle: %w", err)
	}
	return out.Bytes(), nil
}

// noteLine is one file line of a manifest note: where it starts and where
// its digest field starts, as byte offsets in the note.
type noteLine struct{ start, digest int }

// fileLines returns the file lines of a note's text (the lines after its
// "files N" line, up to the blank line before the signatures), in order.
func fileLines(note []byte) ([]noteLine, error) {
	text := note
	if i := bytes.LastIndex(note, []byte("\n\n")); i >= 0 {
		text = note[:i+1]
	}
	var out []noteLine
	inFiles := false
	for off := 0; off < len(text); {
		end := bytes.IndexByte(text[off:], '\n')
		if end < 0 {
			break
		}
		line := text[off : off+end]
		switch {
		case inFiles:
			d, err := digestField(line)
			if err != nil {
				return nil, fmt.Errorf("manifest line at byte %d: %w", off, err)
			}
			out = append(out, noteLine{start: off, digest: off + d})
		case bytes.HasPrefix(line, []byte("files ")):
			inFiles = true
		}
		off += end + 1
	}
	return out, nil
}

// digestField returns the offset in line of the digest of "f MODE SIZE
// ZSIZE SHA256 PATH", or -1 for a git ("g") line, which a bundle never
// lists.
func digestField(line []byte) (int, error) {
	if bytes.HasPrefix(line, []byte("g ")) {
		return -1, nil
	}
	if !bytes.HasPrefix(line, []byte("f ")) {
		return 0, fmt.Errorf("%w: not a file line", ErrCorrupt)
	}
	off := 0
	for range 4 {
		sp := bytes.IndexByte(line[off:], ' ')
		if sp < 0 {
			return 0, fmt.Errorf("%w: short file line", ErrCorrupt)
		}
		off += sp + 1
	}
	if len(line) < off+digestHex+2 || line[off+digestHex] != ' ' {
		return 0, fmt.Errorf("%w: file line without a digest", ErrCorrupt)
	}
	return off, nil
}

// reader reads the decoded command stream.
type reader struct {
	r    io.ByteReader
	full io.Reader
}

func (r *reader) uvarint(what string) (int64, error) {
	v, err := binary.ReadUvarint(r.r)
	if err != nil || v > 1<<62 {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	return int64(v), nil
}

func (r *reader) zigzag(what string) (int64, error) {
	v, err := binary.ReadUvarint(r.r)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	return int64(v>>1) ^ -int64(v&1), nil
}

func (r *reader) op() (byte, error) {
	b, err := r.r.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("%w: no end command: %v", ErrCorrupt, err)
	}
	return b, nil
}
