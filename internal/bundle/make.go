package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// DefaultMaxFile is the largest file Make lists by default: larger ones are
// better served by their own patch (bsdiff's method wins on executables).
const DefaultMaxFile = 4 << 20

// Input is the pair of releases a bundle goes between.
type Input struct {
	OldNote, NewNote []byte             // the signed manifest notes
	Old, New         *manifest.Manifest // parsed from them
	// Content returns the content of a file of either release, by digest.
	// An old file it cannot give is left out of the dictionary.
	Content func(d manifest.Digest) ([]byte, error)
}

// Options tune Make.
type Options struct {
	MaxFile int64 // files larger than this are not listed; 0 means DefaultMaxFile
	// Compress, if not nil, is tried besides klauspost/compress: it
	// returns one zstd frame of body with dict as its raw content
	// dictionary (see delta.Compressor). Its bundle is kept only if it is
	// smaller and applies.
	Compress func(body, dict []byte) ([]byte, error)
}

// Make returns the bundle from in.Old to in.New, and the files it lists.
// It checks the bundle by applying it before returning it. Generation holds
// the dictionary and every listed content in memory.
func Make(in Input, opt Options) ([]byte, []manifest.File, error) {
	if opt.MaxFile <= 0 {
		opt.MaxFile = DefaultMaxFile
	}
	if len(in.OldNote) > MaxDict {
		return nil, nil, fmt.Errorf("%w: old manifest note of %d bytes, dictionary limit is %d", ErrTooLarge, len(in.OldNote), MaxDict)
	}
	h := header{oldNote: int64(len(in.OldNote)), newNote: int64(len(in.NewNote))}
	var bases []int
	h.files, bases = choose(in, opt.MaxFile)
	dict := append([]byte(nil), in.OldNote...)
	for _, i := range bases {
		data, err := in.Content(in.Old.Files[i].SHA256)
		if err != nil {
			continue // gone from the origin, or damaged: no base
		}
		h.bases = append(h.bases, i)
		dict = append(dict, data...)
	}
	body, listed, err := makeBody(in, h.files)
	if err != nil {
		return nil, nil, err
	}
	var best []byte
	for _, level := range []zstd.EncoderLevel{zstd.SpeedBestCompression, zstd.SpeedBetterCompression, zstd.SpeedDefault} {
		b, err := encode(h, body, dict, level)
		if err != nil {
			return nil, nil, err
		}
		if best == nil || len(b) < len(best) {
			best = b
		}
	}
	if err := check(best, in); err != nil {
		return nil, nil, fmt.Errorf("bundle: made a bundle that does not apply: %w", err)
	}
	if opt.Compress != nil {
		if best, err = external(best, h, body, dict, in, opt.Compress); err != nil {
			return nil, nil, err
		}
	}
	return best, listed, nil
}

// external returns the bundle compress makes, if it is smaller than best
// and applies; best otherwise. A frame whose window is too large for
// devices is not an error of the encoder.
func external(best []byte, h header, body, dict []byte, in Input, compress func(body, dict []byte) ([]byte, error)) ([]byte, error) {
	frame, err := compress(body, dict)
	if err != nil {
		return nil, fmt.Errorf("bundle: external compressor: %w", err)
	}
	if !bytes.HasPrefix(frame, zstdMagic) {
		return nil, fmt.Errorf("bundle: external compressor made no zstd frame")
	}
	b := append(appendHeader(nil, h), frame[len(zstdMagic):]...)
	if len(b) >= len(best) {
		return best, nil
	}
	switch err := check(b, in); {
	case errors.Is(err, ErrTooLarge):
		return best, nil
	case err != nil:
		return nil, fmt.Errorf("bundle: external compressor's frame does not apply: %w", err)
	}
	return b, nil
}

// choose returns the indexes of the new files to list and of their bases
// in the old release (see the package doc).
func choose(in Input, maxFile int64) (files, bases []int) {
	budget := int64(MaxDict - len(in.OldNote))
	var content int64
	isBase := map[int]bool{}
	for i, f := range in.New.Files {
		if of, ok := in.Old.Lookup(f.Path); ok && of.SHA256 == f.SHA256 {
			continue
		}
		if f.SHA256 == (manifest.Digest{}) || f.Size > maxFile || content+f.Size > MaxContent {
			continue
		}
		files = append(files, i)
		content += f.Size
		of, ok := in.Old.Lookup(f.Path)
		if !ok {
			of, ok = in.Old.RelatedBase(f.Path)
		}
		if !ok || of.SHA256 == (manifest.Digest{}) || of.Size > budget {
			continue
		}
		j := index(in.Old, of.Path)
		if !isBase[j] {
			isBase[j] = true
			budget -= of.Size
		}
	}
	for j := range in.Old.Files {
		if isBase[j] {
			bases = append(bases, j)
		}
	}
	return files, bases
}

// index returns the index of the file at path p, which m lists.
func index(m *manifest.Manifest, p string) int {
	i, _ := slices.BinarySearchFunc(m.Files, p, func(f manifest.File, p string) int { return strings.Compare(f.Path, p) })
	return i
}

// makeBody returns the new note, with each listed line's digest replaced by
// the old digest of its path (or zeros), followed by the listed contents.
func makeBody(in Input, files []int) ([]byte, []manifest.File, error) {
	note := bytes.Clone(in.NewNote)
	var contents [][]byte
	var listed []manifest.File
	err := fileLines(note, files, func(l fileLine) error {
		f := in.New.Files[l.index]
		placeholder := bytes.Repeat([]byte("0"), digestHex)
		if of, ok := in.Old.Lookup(f.Path); ok && of.SHA256 != (manifest.Digest{}) {
			placeholder = []byte(of.SHA256.String())
		}
		copy(note[l.digest:], placeholder)
		data, err := in.Content(f.SHA256)
		if err != nil {
			return fmt.Errorf("bundle: content of %q: %w", f.Path, err)
		}
		contents = append(contents, data)
		listed = append(listed, f)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return bytes.Join(append([][]byte{note}, contents...), nil), listed, nil
}

func encode(h header, body, dict []byte, level zstd.EncoderLevel) ([]byte, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(MaxWindow), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true),
		zstd.WithEncoderDictRaw(0, dict))
	if err != nil {
		return nil, fmt.Errorf("bundle: zstd encoder: %w", err)
	}
	defer enc.Close()
	frame := enc.EncodeAll(body, nil)
	if !bytes.HasPrefix(frame, zstdMagic) {
		return nil, fmt.Errorf("bundle: zstd frame starts with %x", frame[:min(4, len(frame))])
	}
	return append(appendHeader(nil, h), frame[len(zstdMagic):]...), nil
}

// check applies b as a device holding in.Old would.
func check(b []byte, in Input) error {
	old := Old{Note: in.OldNote, Manifest: in.Old, Content: func(f manifest.File) ([]byte, error) { return in.Content(f.SHA256) }}
	want := Want{Digest: sha256.Sum256(in.NewNote), NoteSize: int64(len(in.NewNote)), MaxFiles: len(in.New.Files)}
	_, err := Apply(context.Background(), bytes.NewReader(b), old, want, func(manifest.File) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil })
	return err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
