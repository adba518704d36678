package bundle

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/delta"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// Old is the release a device holds.
type Old struct {
	// Note is its manifest note, as downloaded. Apply reads it and may
	// write the dictionary into its spare capacity, past len(Note).
	Note     []byte
	Manifest *manifest.Manifest // parsed from Note; or, instead:
	// Files is the number of files of the note's manifest, and Bases
	// returns the files at the given indexes (ascending, each below Files):
	// for a caller that does not hold the parsed manifest.
	Files int
	Bases func(idx []int) ([]manifest.File, error)
	// Content returns the content of one of Manifest's files, checked
	// against its SHA-256 (an error if the file on disk was changed).
	Content func(f manifest.File) ([]byte, error)
}

// Want is what the device expects from the signed channel pointer.
type Want struct {
	Digest   manifest.Digest // SHA-256 of the new manifest note
	NoteSize int64           // its size
	MaxFiles int             // the device's cap on a manifest's files
	// NoteOut, if set, receives the new note instead of Result.Note: then
	// the note is never held in memory.
	NoteOut NoteFile
}

// NoteFile receives the new note (Want.NoteOut): it is written from its
// start, then each listed line's digest is written in place (Seek, Write),
// then the whole is read back (ReadAt) for its SHA-256.
type NoteFile interface {
	io.WriteSeeker
	io.ReaderAt
}

// Output returns where the content of listed file f goes. Apply writes
// f.Size bytes to it and closes it; the content is untrusted until Apply
// returns without error.
type Output func(f manifest.File) (io.WriteCloser, error)

// Result is what a bundle made.
type Result struct {
	Note  []byte          // the new manifest note, whose SHA-256 is Want.Digest
	Files []manifest.File // the listed files, with the digests of what was written
}

// Apply decodes bundle r against old, writes the content of every listed
// file through out, and returns the new manifest note, complete with those
// contents' digests, only if its SHA-256 is want.Digest. Memory: the
// dictionary (at most MaxDict), the note (want.NoteSize) and the zstd
// window (at most MaxWindow), whatever the bundle says.
func Apply(ctx context.Context, r io.Reader, old Old, want Want, out Output) (*Result, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	if old.Manifest != nil {
		old.Files = len(old.Manifest.Files)
	}
	h, err := readHeader(br, old.Files, max(want.MaxFiles, 1))
	if err != nil {
		return nil, err
	}
	if h.oldNote != int64(len(old.Note)) || h.newNote != want.NoteSize {
		return nil, fmt.Errorf("%w: made for notes of %d and %d bytes, not %d and %d", ErrBase, h.oldNote, h.newNote, len(old.Note), want.NoteSize)
	}
	dict, err := dictionary(old, h.bases)
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(io.MultiReader(bytes.NewReader(zstdMagic), br),
		zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(MaxWindow),
		zstd.WithDecoderMaxMemory(MaxWindow), zstd.WithDecoderDictRaw(0, dict))
	if err != nil {
		return nil, fmt.Errorf("bundle: zstd decoder: %w", err)
	}
	defer dec.Close()
	body := stream.Reader(dec)
	if want.NoteOut != nil {
		return applyToFile(ctx, body, h, want, out)
	}
	note := make([]byte, want.NoteSize)
	if _, err := io.ReadFull(body, note); err != nil {
		return nil, corrupt("manifest", err)
	}
	res := &Result{Note: note}
	var total int64
	err = fileLines(note, h.files, func(l fileLine) error {
		f, err := manifest.ParseFileLine(string(l.line))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if total += f.Size; total > MaxContent {
			return fmt.Errorf("%w: content over %d bytes", ErrTooLarge, MaxContent)
		}
		if f.SHA256, err = decodeFile(ctx, body, f, out); err != nil {
			return err
		}
		hex.Encode(note[l.digest:l.digest+digestHex], f.SHA256[:])
		res.Files = append(res.Files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n, err := body.Read(make([]byte, 1)); n > 0 || err != io.EOF {
		return nil, fmt.Errorf("%w: data after the last file (%v)", ErrCorrupt, err)
	}
	if sha256.Sum256(note) != want.Digest {
		return nil, ErrMismatch
	}
	return res, nil
}

// baseFiles returns old's files at the indexes bases.
func baseFiles(old Old, bases []int) ([]manifest.File, error) {
	if old.Manifest == nil {
		if len(bases) == 0 {
			return nil, nil
		}
		return old.Bases(bases)
	}
	out := make([]manifest.File, len(bases))
	for k, i := range bases {
		out[k] = old.Manifest.Files[i]
	}
	return out, nil
}

// applyToFile is the rest of Apply when the note goes to want.NoteOut:
// the note is copied line by line (the listed lines parsed on the way),
// then the listed files decoded and their digests written into the note,
// which is then read back and hashed.
func applyToFile(ctx context.Context, body io.Reader, h header, want Want, out Output) (*Result, error) {
	listed, err := copyNote(io.LimitReader(body, want.NoteSize), want.NoteOut, want.NoteSize, h.files)
	if err != nil {
		return nil, err
	}
	res := &Result{Files: make([]manifest.File, 0, len(listed))}
	var total int64
	var field [digestHex]byte
	for _, l := range listed {
		f := l.file
		if total += f.Size; total > MaxContent {
			return nil, fmt.Errorf("%w: content over %d bytes", ErrTooLarge, MaxContent)
		}
		if f.SHA256, err = decodeFile(ctx, body, f, out); err != nil {
			return nil, err
		}
		hex.Encode(field[:], f.SHA256[:])
		if _, err := want.NoteOut.Seek(l.digest, io.SeekStart); err != nil {
			return nil, fmt.Errorf("bundle: write the manifest: %w", err)
		}
		if _, err := want.NoteOut.Write(field[:]); err != nil {
			return nil, fmt.Errorf("bundle: write the manifest: %w", err)
		}
		res.Files = append(res.Files, f)
	}
	if n, err := body.Read(make([]byte, 1)); n > 0 || err != io.EOF {
		return nil, fmt.Errorf("%w: data after the last file (%v)", ErrCorrupt, err)
	}
	hash := sha256.New()
	if _, err := io.Copy(hash, io.NewSectionReader(want.NoteOut, 0, want.NoteSize)); err != nil {
		return nil, fmt.Errorf("bundle: read the manifest back: %w", err)
	}
	if manifest.Digest(hash.Sum(nil)) != want.Digest {
		return nil, ErrMismatch
	}
	return res, nil
}

// listedLine is a listed file's line of the note, parsed, and where its
// digest field is in the note.
type listedLine struct {
	file   manifest.File
	digest int64
}

// copyNote copies the note (size bytes of r) to w and returns the file lines
// whose indexes are in want (ascending), as fileLines finds them.
func copyNote(r io.Reader, w io.Writer, size int64, want []int) ([]listedLine, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	bw := bufio.NewWriterSize(w, 32<<10)
	var listed []listedLine
	var off int64
	inFiles, start, idx := false, true, -1
	for {
		l, err := br.ReadSlice('\n')
		if start && len(l) > 0 && len(listed) < len(want) {
			line := bytes.TrimSuffix(l, []byte("\n"))
			switch {
			case inFiles:
				idx++
				if idx != want[len(listed)] {
					break
				}
				f, err := listedFile(line, idx, err == nil)
				if err != nil {
					return nil, err
				}
				listed = append(listed, listedLine{file: f.file, digest: off + f.digest})
			case bytes.HasPrefix(line, []byte("files ")):
				inFiles = true
			}
		}
		if _, werr := bw.Write(l); werr != nil {
			return nil, fmt.Errorf("bundle: write the manifest: %w", werr)
		}
		off += int64(len(l))
		start = err == nil
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, corrupt("manifest", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("bundle: write the manifest: %w", err)
	}
	if off != size {
		return nil, corrupt("manifest", io.ErrUnexpectedEOF)
	}
	if len(listed) < len(want) {
		return nil, fmt.Errorf("%w: the manifest has no file line %d", ErrCorrupt, want[len(listed)])
	}
	return listed, nil
}

// listedFile parses the listed file line line (index idx; whole: it fit
// the buffer) and finds its digest field.
func listedFile(line []byte, idx int, whole bool) (listedLine, error) {
	if !whole {
		return listedLine{}, fmt.Errorf("%w: file line %d is too long", ErrCorrupt, idx)
	}
	d, err := digestField(line, idx)
	if err != nil {
		return listedLine{}, err
	}
	f, err := manifest.ParseFileLine(string(line))
	if err != nil {
		return listedLine{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return listedLine{file: f, digest: int64(d)}, nil
}

// dictionary returns old's note followed by the contents of its bases.
func dictionary(old Old, bases []int) ([]byte, error) {
	files, err := baseFiles(old, bases)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBase, err)
	}
	size := int64(len(old.Note))
	for _, f := range files {
		size += f.Size
	}
	if size > MaxDict {
		return nil, fmt.Errorf("%w: dictionary of %d bytes, limit is %d", ErrTooLarge, size, MaxDict)
	}
	// The note is not copied when its slice has room for the bases (a
	// note read from a file usually has a little): the dictionary is then
	// the note's own array, and Apply never writes below len(old.Note).
	dict := old.Note
	if int64(cap(dict)) < size {
		dict = make([]byte, 0, size)
		dict = append(dict, old.Note...)
	}
	for _, f := range files {
		data, err := old.Content(f)
		if err != nil {
			return nil, fmt.Errorf("%w: base %q: %w", ErrBase, f.Path, err)
		}
		if int64(len(data)) != f.Size {
			return nil, fmt.Errorf("%w: base %q is %d bytes, not %d", ErrBase, f.Path, len(data), f.Size)
		}
		dict = append(dict, data...)
	}
	return dict, nil
}

// decodeFile copies f.Size bytes of body to out(f) and returns their SHA-256.
func decodeFile(ctx context.Context, body io.Reader, f manifest.File, out Output) (manifest.Digest, error) {
	w, err := out(f)
	if err != nil {
		return manifest.Digest{}, err
	}
	h := sha256.New()
	buf := make([]byte, 32<<10)
	for left := f.Size; left > 0; {
		if err := ctx.Err(); err != nil {
			w.Close()
			return manifest.Digest{}, err
		}
		n, err := io.ReadFull(body, buf[:min(left, int64(len(buf)))])
		h.Write(buf[:n])
		if _, werr := w.Write(buf[:n]); werr != nil {
			w.Close()
			return manifest.Digest{}, fmt.Errorf("bundle: write %q: %w", f.Path, werr)
		}
		if err != nil {
			w.Close()
			return manifest.Digest{}, corrupt(fmt.Sprintf("content of %q", f.Path), err)
		}
		left -= int64(n)
	}
	if err := w.Close(); err != nil {
		return manifest.Digest{}, fmt.Errorf("bundle: write %q: %w", f.Path, err)
	}
	return manifest.Digest(h.Sum(nil)), nil
}

// stream classifies the errors of the bundle's zstd stream.
var stream = delta.StreamErrors{Corrupt: ErrCorrupt, TooLarge: ErrTooLarge}

// corrupt wraps a read error of the compressed stream.
func corrupt(what string, err error) error { return stream.Wrap(what, err) }
