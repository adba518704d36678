package mbundle

import (
	"crypto/sha256"
	"fmt"

	"github.com/ferry-ota/ferry/internal/bundle"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// Defaults of Options, and the largest note Make takes.
const (
	DefaultMaxFile    = 4 << 20  // larger files keep their own .mpatch or .z blob
	DefaultMaxContent = 16 << 20 // bytes of file content one bundle carries
	// MaxNote caps the manifest notes (old and new) of a bundle: a board
	// holds the file list of a release of a few hundred files (its
	// max_manifest_kb is 64 by default), and the encoder indexes every
	// offset of the old note.
	MaxNote = 1 << 20
)

// Input is the pair of releases a bundle goes between, as for the Linux
// agent's bundle: the signed manifest notes, their parsed manifests, and
// the content of a file of either release by digest (an old file it cannot
// give is no base).
type Input = bundle.Input

// Options tune Make.
type Options struct {
	MaxFile    int64 // files larger than this are not listed; 0 means DefaultMaxFile
	MaxContent int64 // listed files' sizes add up to at most this; 0 means DefaultMaxContent
}

// Make returns the bundle from in.Old to in.New and the files it lists. It
// checks the bundle by applying it (Apply) before returning it.
func Make(in Input, opt Options) ([]byte, []manifest.File, error) {
	if len(in.OldNote) > MaxNote || len(in.NewNote) > MaxNote {
		return nil, nil, fmt.Errorf("%w: manifest notes of %d and %d bytes, limit is %d", ErrTooLarge, len(in.OldNote), len(in.NewNote), MaxNote)
	}
	oldLines, err := fileLines(in.OldNote)
	if err != nil || len(oldLines) != len(in.Old.Files) {
		return nil, nil, fmt.Errorf("mbundle: old manifest note: %d file lines for %d files (%v)", len(oldLines), len(in.Old.Files), err)
	}
	newLines, err := fileLines(in.NewNote)
	if err != nil || len(newLines) != len(in.New.Files) {
		return nil, nil, fmt.Errorf("mbundle: new manifest note: %d file lines for %d files (%v)", len(newLines), len(in.New.Files), err)
	}
	files := candidates(in, opt)
	olds := indexOld(in.Old)
	cmds := appendUvarint([]byte(Magic), int64(len(files)))
	var listed []manifest.File
	var total int64
	for _, i := range files {
		f := in.New.Files[i]
		data, err := in.Content(f.SHA256)
		if err != nil {
			return nil, nil, fmt.Errorf("mbundle: content of %q: %w", f.Path, err)
		}
		cmds = appendFile(cmds, in, olds, oldLines, f, data)
		listed = append(listed, f)
		total += f.Size
	}
	cmds = appendNote(cmds, in, newLines, files)
	b, err := zlibEncode(cmds)
	if err != nil {
		return nil, nil, err
	}
	if n := MaxSize(int64(len(in.NewNote)), total); int64(len(b)) > n {
		return nil, nil, fmt.Errorf("%w: bundle of %d bytes, a board takes at most %d", ErrTooLarge, len(b), n)
	}
	if err := check(b, in, total, len(files)); err != nil {
		return nil, nil, fmt.Errorf("mbundle: made a bundle that does not apply: %w", err)
	}
	return b, listed, nil
}

// candidates returns the indexes of the new files to list: those whose path
// and content are not both in the old release, each content once.
func candidates(in Input, opt Options) []int {
	maxFile, maxContent := or(opt.MaxFile, DefaultMaxFile), or(opt.MaxContent, DefaultMaxContent)
	seen := map[manifest.Digest]bool{}
	var files []int
	var content int64
	for i, f := range in.New.Files {
		if of, ok := in.Old.Lookup(f.Path); ok && of.SHA256 == f.SHA256 {
			continue
		}
		if f.SHA256 == (manifest.Digest{}) || seen[f.SHA256] || f.Size > maxFile || content+f.Size > maxContent {
			continue
		}
		seen[f.SHA256] = true
		files = append(files, i)
		content += f.Size
	}
	return files
}

// appendFile appends a file's entry: its base, size and commands.
func appendFile(cmds []byte, in Input, olds oldFiles, oldLines []noteLine, f manifest.File, data []byte) []byte {
	j, base := pickBase(in, olds, f)
	var ix *Index
	ref := int64(0)
	if j >= 0 {
		ix = NewIndex(base)
		ref = int64(oldLines[j].start) + 1
	}
	cmds = appendUvarint(cmds, ref)
	cmds = appendUvarint(cmds, int64(len(data)))
	return append(appendCommands(cmds, ix, data, 0), opEnd)
}

// oldFiles indexes the old release's files by path and by content.
type oldFiles struct{ byPath, byDigest map[string]int }

func indexOld(m *manifest.Manifest) oldFiles {
	o := oldFiles{byPath: map[string]int{}, byDigest: map[string]int{}}
	for j, f := range m.Files {
		o.byPath[f.Path] = j
		if _, ok := o.byDigest[string(f.SHA256[:])]; !ok && f.SHA256 != (manifest.Digest{}) {
			o.byDigest[string(f.SHA256[:])] = j
		}
	}
	return o
}

// pickBase returns the index in in.Old of f's base and its content, or -1:
// the old file at the same path, else one with the same content, else the
// one manifest.RelatedBase picks.
func pickBase(in Input, olds oldFiles, f manifest.File) (int, []byte) {
	j, ok := olds.byPath[f.Path]
	if !ok || in.Old.Files[j].SHA256 == (manifest.Digest{}) {
		j, ok = olds.byDigest[string(f.SHA256[:])]
	}
	if !ok {
		var rel manifest.File
		if rel, ok = in.Old.RelatedBase(f.Path); ok {
			j = olds.byPath[rel.Path]
		}
	}
	if !ok || in.Old.Files[j].SHA256 == (manifest.Digest{}) {
		return -1, nil
	}
	of := in.Old.Files[j]
	data, err := in.Content(of.SHA256)
	if err != nil || int64(len(data)) != of.Size {
		return -1, nil
	}
	return j, data
}

// appendNote appends the commands that make the new note from the old one,
// with an 'H' in place of each listed file's digest.
func appendNote(cmds []byte, in Input, newLines []noteLine, files []int) []byte {
	ix := NewIndex(in.OldNote)
	prev := 0
	for _, i := range files {
		d := newLines[i].digest
		cmds = appendCommands(cmds, ix, in.NewNote[prev:d], prev)
		cmds = append(cmds, opHash)
		prev = d + digestHex
	}
	cmds = appendCommands(cmds, ix, in.NewNote[prev:], prev)
	return append(cmds, opEnd)
}

// check applies b as a board holding in.Old would.
func check(b []byte, in Input, total int64, files int) error {
	old := Old{Note: in.OldNote, Content: func(f manifest.File) ([]byte, error) { return in.Content(f.SHA256) }}
	want := Want{Digest: sha256.Sum256(in.NewNote), NoteSize: int64(len(in.NewNote)),
		MaxFiles: files, MaxFileSize: total, MaxTotal: total}
	_, err := Apply(bytesReader(b), old, want)
	return err
}

func or(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}
