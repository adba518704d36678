package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/bundle"
	"github.com/ferry-ota/ferry/internal/delta"
	"github.com/ferry-ota/ferry/internal/delta/deltagen"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// DefaultDeltaReleases is how many previous releases of a channel get
// patches to a new release: a device up to that many releases behind
// downloads what changed.
const DefaultDeltaReleases = 3

// DefaultDeltaMaxFile caps the files patches are made for: generation holds
// both contents and a suffix array (about 15 bytes of memory per byte of a
// file), so larger files are published as blobs only.
const DefaultDeltaMaxFile = 256 << 20

// keepRatio: a patch is kept only when it is clearly smaller than what it
// replaces (at most 3/4 of the compressed blob, or of the manifest note).
const keepNum, keepDen = 3, 4

// Deltas makes the patches of a release: for every file, from its content in
// each of the previous K releases of the channel (at the same path, or for a
// new path the related file manifest.RelatedBase picks) to its new content;
// for the manifest note, from each previous note; and the update bundle from
// each previous release (package bundle). Patches go to layout.Delta(old,
// new) and bundles to layout.Bundle(oldNote, newNote), where the agent looks
// for them. Use its File and Manifest methods as Options.Hooks.
type Deltas struct {
	MaxFile int64 // files larger than this get no patch; 0 means DefaultDeltaMaxFile
	// Compress, if not nil, is a stronger zstd encoder tried besides
	// klauspost/compress for patches and bundles (package zstdcli).
	Compress    delta.Compressor
	prev        []*manifest.Manifest // newest first
	notes       [][]byte
	done        map[[2]manifest.Digest]bool
	Made        int   // patches written
	Bytes       int64 // their bytes
	Bundles     int   // update bundles written
	BundleBytes int64 // their bytes
	Skipped     int   // patches and bundles not worth keeping
}

// NewDeltas finds the previous k releases of channel in the origin folder
// (verified with the key ring, as a device would).
func NewDeltas(origin, channel string, k int, ring *keys.Ring, now time.Time) (*Deltas, error) {
	d := &Deltas{done: map[[2]manifest.Digest]bool{}}
	if k <= 0 {
		return d, nil
	}
	es, err := os.ReadDir(filepath.Join(origin, "releases"))
	if err != nil && !isNotExist(err) {
		return nil, err
	}
	type rel struct {
		m    *manifest.Manifest
		note []byte
	}
	var rels []rel
	for _, e := range es {
		m, s, err := readManifest(origin, e.Name(), ring, now)
		if err != nil || m == nil || m.Channel != channel {
			continue // another channel's, expired or unreadable: no base
		}
		rels = append(rels, rel{m, s.note})
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].m.Sequence > rels[j].m.Sequence })
	for i := 0; i < len(rels) && i < k; i++ {
		d.prev = append(d.prev, rels[i].m)
		d.notes = append(d.notes, rels[i].note)
	}
	return d, nil
}

// Hooks returns d's methods as release hooks.
func (d *Deltas) Hooks() Hooks { return Hooks{File: d.File, Manifest: d.Manifest} }

// File writes the patches to f's content from its content in the previous
// releases. It is a Hooks.File.
func (d *Deltas) File(ctx context.Context, origin string, f manifest.File, _ *manifest.Manifest) error {
	if max := cmpOr(d.MaxFile, DefaultDeltaMaxFile); f.Size > max {
		d.Skipped++
		return nil
	}
	var newContent []byte
	for _, pm := range d.prev {
		of, ok := pm.Lookup(f.Path)
		if !ok { // a new path: the base a device picks by the same rule
			of, ok = pm.RelatedBase(f.Path)
		}
		if !ok || of.SHA256 == f.SHA256 || of.SHA256 == (manifest.Digest{}) || d.done[[2]manifest.Digest{of.SHA256, f.SHA256}] {
			continue
		}
		d.done[[2]manifest.Digest{of.SHA256, f.SHA256}] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		if exists(origin, layout.Delta(of.SHA256, f.SHA256)) {
			continue
		}
		if of.Size > cmpOr(d.MaxFile, DefaultDeltaMaxFile) {
			continue
		}
		old, err := readBlob(origin, of.SHA256)
		if err != nil {
			continue // the old blob is gone from the origin: no base
		}
		if newContent == nil {
			if newContent, err = readBlob(origin, f.SHA256); err != nil {
				return err
			}
		}
		if err := d.write(origin, of.SHA256, f.SHA256, old, newContent, f.ZSize, 0); err != nil {
			return fmt.Errorf("patch for %q: %w", f.Path, err)
		}
	}
	return nil
}

// Manifest writes patches from the previous manifest notes to the new one,
// so that a device downloads the changed lines of a large file list. It is a
// Hooks.Manifest.
func (d *Deltas) Manifest(ctx context.Context, origin string, _, note []byte) error {
	newD := manifest.Digest(sha256.Sum256(note))
	for i, old := range d.notes {
		oldD := manifest.Digest(sha256.Sum256(old))
		if oldD == newD {
			continue
		}
		if !exists(origin, layout.Delta(oldD, newD)) {
			if err := d.write(origin, oldD, newD, old, note, int64(len(note)), ManifestDictMax); err != nil {
				return fmt.Errorf("manifest patch: %w", err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.bundle(origin, d.prev[i], old, note); err != nil {
			return fmt.Errorf("bundle from %s: %w", d.prev[i].Version, err)
		}
	}
	return nil
}

// ManifestDictMax is the largest old manifest note a device is asked to
// hold in memory to make the new one: from a dictionary patch
// (delta.FlagDict) or an update bundle (whose dictionary starts with it).
// A larger note (a release of more than about 10,000 files) gets only
// patches the device applies reading the old note from its file, and no
// bundle: a few bytes more on the wire, and about the note's size (5 MB for
// 50,000 files) less memory on the device (issue #15).
const ManifestDictMax = 1 << 20

// bundleSlack: a bundle up to this many bytes larger than what it replaces
// is still written. A device asks for the bundle first, and a 404 has a
// body too (19 bytes from ferry serve, a few hundred from object stores), so
// a bundle that carries just the manifest costs less than its absence.
const bundleSlack = 32

// bundle writes the update bundle from an old release to the new one unless
// it is larger than what it replaces (by more than bundleSlack): the
// manifest patch (or note) and, for every file it lists, that file's patch
// or blob.
func (d *Deltas) bundle(origin string, oldM *manifest.Manifest, oldNote, note []byte) error {
	oldD, newD := manifest.Digest(sha256.Sum256(oldNote)), manifest.Digest(sha256.Sum256(note))
	if exists(origin, layout.Bundle(oldD, newD)) || len(oldNote) > ManifestDictMax {
		return nil
	}
	newM, err := parseNote(note)
	if err != nil {
		return err
	}
	in := bundle.Input{OldNote: oldNote, NewNote: note, Old: oldM, New: newM,
		Content: func(dg manifest.Digest) ([]byte, error) { return readBlob(origin, dg) }}
	alone := func(f manifest.File) (int64, bool) {
		cost, commands := d.fileCost(origin, oldM, f)
		return cost, commands
	}
	b, listed, err := bundle.Make(in, bundle.Options{MaxFile: min(cmpOr(d.MaxFile, DefaultDeltaMaxFile), bundle.DefaultMaxFile),
		Compress: d.Compress, Alone: alone})
	if err != nil {
		return err
	}
	replaces := sizeOr(origin, layout.Delta(oldD, newD), int64(len(note)))
	for _, f := range listed {
		cost, _ := d.fileCost(origin, oldM, f)
		replaces += cost
	}
	if int64(len(b)) > replaces+bundleSlack {
		d.Skipped++
		return nil
	}
	if err := writeAtomic(origin, layout.Bundle(oldD, newD), b); err != nil {
		return err
	}
	d.Bundles++
	d.BundleBytes += int64(len(b))
	return nil
}

// fileCost is what a device holding oldM downloads for f without a bundle:
// the patch from the base it would pick, or the blob; and whether that patch
// is made of bsdiff's commands (not the new content against a dictionary),
// which a bundle may not beat.
func (d *Deltas) fileCost(origin string, oldM *manifest.Manifest, f manifest.File) (int64, bool) {
	of, ok := oldM.Lookup(f.Path)
	if !ok {
		of, ok = oldM.RelatedBase(f.Path)
	}
	if !ok {
		return f.ZSize, false
	}
	name := filepath.Join(origin, filepath.FromSlash(layout.Delta(of.SHA256, f.SHA256)))
	fd, err := os.Open(name)
	if err != nil {
		return f.ZSize, false
	}
	defer fd.Close()
	var hdr [len(delta.Magic) + 2]byte
	fi, err := fd.Stat()
	if _, rerr := io.ReadFull(fd, hdr[:]); err != nil || rerr != nil {
		return f.ZSize, false
	}
	return fi.Size(), hdr[len(delta.Magic)+1]&delta.FlagRaw == 0
}

// sizeOr returns the size of an origin file, or def if it is not there.
func sizeOr(origin, rel string, def int64) int64 {
	fi, err := os.Stat(filepath.Join(origin, filepath.FromSlash(rel)))
	if err != nil {
		return def
	}
	return fi.Size()
}

// write makes the patch from old to new, unless it saves too little over
// replaces; dictMax is delta.Options.DictMax.
func (d *Deltas) write(origin string, oldD, newD manifest.Digest, old, new []byte, replaces, dictMax int64) error {
	var patch bytes.Buffer
	if err := deltagen.Diff(old, new, &patch, deltagen.Options{Compress: d.Compress, DictMax: dictMax}); err != nil {
		return err
	}
	if int64(patch.Len())*keepDen > replaces*keepNum {
		d.Skipped++
		return nil
	}
	if err := writeAtomic(origin, layout.Delta(oldD, newD), patch.Bytes()); err != nil {
		return err
	}
	d.Made++
	d.Bytes += int64(patch.Len())
	return nil
}

func exists(origin, rel string) bool {
	_, err := os.Stat(filepath.Join(origin, filepath.FromSlash(rel)))
	return err == nil
}

// readBlob returns the content of a blob of the origin folder, checked
// against its digest.
func readBlob(origin string, d manifest.Digest) ([]byte, error) {
	f, err := os.Open(filepath.Join(origin, filepath.FromSlash(layout.Blob(d))))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec, err := zstd.NewReader(f, zstd.WithDecoderMaxWindow(MaxBlobWindow), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	data, err := io.ReadAll(dec)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if sha256.Sum256(data) != d {
		return nil, fmt.Errorf("blob %s: %w: content does not match its name", d, fs.ErrInvalid)
	}
	return data, nil
}

func cmpOr(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}
