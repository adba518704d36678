package bundle

import (
	"bytes"
	"cmp"
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
	// Alone, if not nil, says what a file costs a device outside the
	// bundle (its own patch), and whether that is worth trying: a large
	// file that bsdiff's commands patch in a few bytes costs more inside
	// a zstd stream, which spends a few bytes on every 128 KiB block.
	// Make leaves such a file out when the bundle shrinks by more than it
	// costs alone (at most maxTrials of them, the largest first).
	Alone func(f manifest.File) (cost int64, try bool)
}

// maxTrials caps the files Make tries to leave out, one encoding each.
const maxTrials = 8

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
	in.Content = memo(in.Content) // every trial reads the same contents
	files := candidates(in, opt.MaxFile)
	best, err := makeWith(in, files, zstd.SpeedBestCompression)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range trials(in, files, opt.Alone) {
		cost, _ := opt.Alone(in.New.Files[i])
		without := slices.DeleteFunc(slices.Clone(files), func(j int) bool { return j == i })
		b, err := makeWith(in, without, zstd.SpeedBestCompression)
		if err != nil {
			return nil, nil, err
		}
		if int64(len(b))+cost < int64(len(best)) {
			files, best = without, b
		}
	}
	h, body, dict, listed, err := prepare(in, files)
	if err != nil {
		return nil, nil, err
	}
	for _, level := range []zstd.EncoderLevel{zstd.SpeedBetterCompression, zstd.SpeedDefault} {
		b, err := encode(h, body, dict, level)
		if err != nil {
			return nil, nil, err
		}
		if len(b) < len(best) {
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

// trials returns the listed files worth trying outside the bundle, the
// largest first.
func trials(in Input, files []int, alone func(manifest.File) (int64, bool)) []int {
	if alone == nil {
		return nil
	}
	var out []int
	for _, i := range files {
		if _, try := alone(in.New.Files[i]); try {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(in.New.Files[b].Size, in.New.Files[a].Size) })
	return out[:min(len(out), maxTrials)]
}

// makeWith encodes the bundle listing files at one level.
func makeWith(in Input, files []int, level zstd.EncoderLevel) ([]byte, error) {
	h, body, dict, _, err := prepare(in, files)
	if err != nil {
		return nil, err
	}
	return encode(h, body, dict, level)
}

// prepare returns the header, body and dictionary of the bundle listing
// files, and the listed files.
func prepare(in Input, files []int) (header, []byte, []byte, []manifest.File, error) {
	h := header{oldNote: int64(len(in.OldNote)), newNote: int64(len(in.NewNote)), files: files}
	dict := append([]byte(nil), in.OldNote...)
	for _, i := range bases(in, files) {
		data, err := in.Content(in.Old.Files[i].SHA256)
		if err != nil {
			continue // gone from the origin, or damaged: no base
		}
		h.bases = append(h.bases, i)
		dict = append(dict, data...)
	}
	body, listed, err := makeBody(in, files)
	return h, body, dict, listed, err
}

// candidates returns the indexes of the new files to list (see the package
// doc).
func candidates(in Input, maxFile int64) []int {
	var files []int
	var content int64
	for i, f := range in.New.Files {
		if of, ok := in.Old.Lookup(f.Path); ok && of.SHA256 == f.SHA256 {
			continue
		}
		if f.SHA256 == (manifest.Digest{}) || f.Size > maxFile || content+f.Size > MaxContent {
			continue
		}
		files = append(files, i)
		content += f.Size
	}
	return files
}

// bases returns the indexes, in the old release, of the bases of files:
// each one's old file at the same path, or its related file, while the
// dictionary stays within MaxDict.
func bases(in Input, files []int) []int {
	budget := int64(MaxDict - len(in.OldNote))
	isBase := map[int]bool{}
	for _, i := range files {
		p := in.New.Files[i].Path
		of, ok := in.Old.Lookup(p)
		if !ok {
			of, ok = in.Old.RelatedBase(p)
		}
		if !ok || of.SHA256 == (manifest.Digest{}) || of.Size > budget {
			continue
		}
		if j := index(in.Old, of.Path); !isBase[j] {
			isBase[j] = true
			budget -= of.Size
		}
	}
	var out []int
	for j := range in.Old.Files {
		if isBase[j] {
			out = append(out, j)
		}
	}
	return out
}

// memo returns content, remembering what it returned.
func memo(content func(manifest.Digest) ([]byte, error)) func(manifest.Digest) ([]byte, error) {
	seen := map[manifest.Digest][]byte{}
	return func(d manifest.Digest) ([]byte, error) {
		if data, ok := seen[d]; ok {
			return data, nil
		}
		data, err := content(d)
		if err == nil {
			seen[d] = data
		}
		return data, err
	}
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
