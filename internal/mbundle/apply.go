package mbundle

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// Old is the release a board holds.
type Old struct {
	Note []byte // its manifest note
	// Content returns the board's file at f.Path; Apply checks it against
	// f's size and SHA-256 (ErrBase when it does not hold them).
	Content func(f manifest.File) ([]byte, error)
}

// Want is what the board expects: the signed pointer's note and its caps.
type Want struct {
	Digest      manifest.Digest // SHA-256 of the new manifest note
	NoteSize    int64           // its size
	MaxFiles    int             // max_files
	MaxFileSize int64           // max_file_mb
	MaxTotal    int64           // max_total_mb
}

// File is the content of one listed file.
type File struct {
	SHA256 manifest.Digest
	Data   []byte
}

// Result is what a bundle made.
type Result struct {
	Note  []byte // the new manifest note, whose SHA-256 is Want.Digest
	Files []File // the listed files' contents, in order
}

// Apply decodes the bundle r against old as a board does (the Go reference
// of micropython/ferry/mbundle.py) and returns the note and the files only
// if the note's SHA-256 is want.Digest. Memory: the note, the listed files
// and their bases, each within the caps of want whatever the bundle says.
func Apply(r io.Reader, old Old, want Want) (*Result, error) {
	br := bufio.NewReader(r)
	hdr, err := br.Peek(2)
	if err != nil || hdr[0]&0x0f != 8 || int(hdr[0]>>4) > layout.ZlibWindowBits-8 {
		return nil, fmt.Errorf("%w: not a zlib stream with a %d-byte window", ErrFormat, 1<<layout.ZlibWindowBits)
	}
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	zb := bufio.NewReader(zr)
	rd := &reader{r: zb, full: zb}
	var magic [len(Magic)]byte
	if _, err := io.ReadFull(zb, magic[:]); err != nil || string(magic[:]) != Magic {
		return nil, fmt.Errorf("%w: magic %q", ErrFormat, magic[:])
	}
	n, err := rd.uvarint("file count")
	if err != nil {
		return nil, err
	}
	if n > int64(want.MaxFiles) {
		return nil, fmt.Errorf("%w: %d files, limit is %d", ErrTooLarge, n, want.MaxFiles)
	}
	res := &Result{}
	var total int64
	for range n {
		f, err := rd.file(old, want, &total)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, f)
	}
	next := 0
	hash := func() ([]byte, error) {
		if next == len(res.Files) {
			return nil, fmt.Errorf("%w: more digests than files", ErrCorrupt)
		}
		next++
		return []byte(hex.EncodeToString(res.Files[next-1].SHA256[:])), nil
	}
	if res.Note, err = rd.run(make([]byte, 0, want.NoteSize), want.NoteSize, old.Note, hash); err != nil {
		return nil, fmt.Errorf("manifest note: %w", err)
	}
	if next != len(res.Files) || int64(len(res.Note)) != want.NoteSize {
		return nil, fmt.Errorf("%w: a note of %d bytes with %d of %d digests, want %d bytes", ErrCorrupt, len(res.Note), next, len(res.Files), want.NoteSize)
	}
	if k, err := zb.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: after the end: byte %d (%v)", ErrCorrupt, k, err)
	}
	if sha256.Sum256(res.Note) != want.Digest {
		return nil, ErrMismatch
	}
	return res, nil
}

// file decodes one file's entry.
func (rd *reader) file(old Old, want Want, total *int64) (File, error) {
	ref, err := rd.uvarint("base")
	if err != nil {
		return File{}, err
	}
	var src []byte
	if ref > 0 {
		if src, err = base(old, ref-1); err != nil {
			return File{}, err
		}
	}
	size, err := rd.uvarint("size")
	if err != nil {
		return File{}, err
	}
	if *total += size; size > want.MaxFileSize || *total > want.MaxTotal {
		return File{}, fmt.Errorf("%w: a file of %d bytes (%d in all), limits %d and %d", ErrTooLarge, size, *total, want.MaxFileSize, want.MaxTotal)
	}
	data, err := rd.run(make([]byte, 0, size), size, src, nil)
	if err != nil {
		return File{}, err
	}
	if int64(len(data)) != size {
		return File{}, fmt.Errorf("%w: %d bytes made, %d declared", ErrCorrupt, len(data), size)
	}
	return File{SHA256: sha256.Sum256(data), Data: data}, nil
}

// base returns the content of the base whose line starts at byte off of
// the old note.
func base(old Old, off int64) ([]byte, error) {
	note := old.Note
	if off < 1 || off >= int64(len(note)) || note[off-1] != '\n' || !bytes.HasPrefix(note[off:], []byte("f ")) {
		return nil, fmt.Errorf("%w: base at byte %d is not a file line of the old note", ErrCorrupt, off)
	}
	line, _, ok := bytes.Cut(note[off:], []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%w: base at byte %d has no line end", ErrCorrupt, off)
	}
	f, err := manifest.ParseFileLine(string(line))
	if err != nil {
		return nil, fmt.Errorf("%w: base at byte %d: %v", ErrCorrupt, off, err)
	}
	data, err := old.Content(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBase, f.Path, err)
	}
	if int64(len(data)) != f.Size || sha256.Sum256(data) != f.SHA256 {
		return nil, fmt.Errorf("%w: %q does not hold its installed content", ErrBase, f.Path)
	}
	return data, nil
}

// run executes commands up to 'E', appending to out at most limit bytes:
// copies from src, literals, and (when hash is not nil) digests.
func (rd *reader) run(out []byte, limit int64, src []byte, hash func() ([]byte, error)) ([]byte, error) {
	for {
		op, err := rd.op()
		if err != nil {
			return nil, err
		}
		var add []byte
		switch {
		case op == opEnd:
			return out, nil
		case op == opHash && hash != nil:
			add, err = hash()
		case op == opCopy:
			add, err = rd.copy(len(out), src)
		case op == opLiteral:
			add, err = rd.literal(limit - int64(len(out)))
		default:
			err = fmt.Errorf("%w: unknown command %d", ErrCorrupt, op)
		}
		if err != nil {
			return nil, err
		}
		if int64(len(out)+len(add)) > limit {
			return nil, fmt.Errorf("%w: makes more than %d bytes", ErrCorrupt, limit)
		}
		out = append(out, add...)
	}
}

func (rd *reader) copy(pos int, src []byte) ([]byte, error) {
	d, err := rd.zigzag("copy offset")
	if err != nil {
		return nil, err
	}
	n, err := rd.uvarint("copy length")
	if err != nil {
		return nil, err
	}
	off := int64(pos) + d
	if n < 1 || off < 0 || off > int64(len(src)) || n > int64(len(src))-off {
		return nil, fmt.Errorf("%w: copy of %d bytes from %d of a %d-byte source", ErrCorrupt, n, off, len(src))
	}
	return src[off : off+n], nil
}

func (rd *reader) literal(room int64) ([]byte, error) {
	n, err := rd.uvarint("literal length")
	if err != nil {
		return nil, err
	}
	if n < 1 || n > room {
		return nil, fmt.Errorf("%w: literal of %d bytes, room for %d", ErrCorrupt, n, room)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rd.full, b); err != nil {
		return nil, fmt.Errorf("%w: literal: %v", ErrCorrupt, err)
	}
	return b, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
