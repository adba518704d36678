package publish

import (
	"crypto/sha256"
	"os"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/mbundle"
	"github.com/ferry-ota/ferry/internal/trust"
)

// bundle writes the MicroPython update bundle (layout.MBundle) from the
// release whose manifest note is oldNote to the one whose note is note,
// unless it is on the origin or is larger (by more than bundleSlack: a
// board asks for the bundle first, and a 404 has a body too) than what it
// replaces: the note's .mpatch (or the note) and, for each file it lists,
// what a board downloads for it without a bundle.
func (z *Zlib) bundle(origin string, oldNote, note []byte) error {
	oldD, newD := manifest.Digest(sha256.Sum256(oldNote)), manifest.Digest(sha256.Sum256(note))
	name := layout.MBundle(oldD, newD)
	if exists(origin, name) || len(oldNote) > mbundle.MaxNote || len(note) > mbundle.MaxNote {
		return nil
	}
	oldM, err := parseNote(oldNote)
	if err != nil { // not a release's note: no base
		z.BundlesSkipped++
		return nil
	}
	newM, err := parseNote(note)
	if err != nil {
		return err
	}
	in := mbundle.Input{OldNote: oldNote, NewNote: note, Old: oldM, New: newM,
		Content: func(d manifest.Digest) ([]byte, error) { return readBlob(origin, d) }}
	b, listed, err := mbundle.Make(in, mbundle.Options{})
	if err != nil {
		return err
	}
	replaces := sizeOr(origin, layout.MPatch(oldD, newD), int64(len(note)))
	for _, f := range listed {
		replaces += boardCost(origin, oldM, f)
	}
	if int64(len(b)) > replaces+bundleSlack {
		z.BundlesSkipped++
		return nil
	}
	if err := writeAtomic(origin, name, b); err != nil {
		return err
	}
	z.Bundles++
	z.BundleBytes += int64(len(b))
	return nil
}

// boardCost is what a board holding oldM downloads for f without a bundle:
// the .mpatch from its old content at the same path when the origin has
// one, else its .z blob.
func boardCost(origin string, oldM *manifest.Manifest, f manifest.File) int64 {
	if of, ok := oldM.Lookup(f.Path); ok {
		if fi, err := os.Stat(filepath.Join(origin, filepath.FromSlash(layout.MPatch(of.SHA256, f.SHA256)))); err == nil {
			return fi.Size()
		}
	}
	return sizeOr(origin, layout.ZBlob(f.SHA256), layout.ZlibCap(f.Size))
}

// parseNote parses a signed manifest note (verified by the caller).
func parseNote(note []byte) (*manifest.Manifest, error) {
	text, err := trust.NoteText(note)
	if err != nil {
		return nil, err
	}
	return manifest.ParseManifest(text, manifest.Limits{})
}
