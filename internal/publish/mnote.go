package publish

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// Notes returns the manifest notes of the previous releases NewDeltas
// found (newest first): the bases of the MicroPython manifest patches
// (Zlib.Notes).
func (d *Deltas) Notes() [][]byte { return d.notes }

// withNotePatch wraps h's Manifest hook so that it first writes the
// MicroPython patches to the new manifest note (Zlib.Manifest) from the
// channel's previous note and from z.Notes.
func (z *Zlib) withNotePatch(h Hooks) Hooks {
	next := h.Manifest
	h.Manifest = func(ctx context.Context, origin string, prevNote, note []byte) error {
		if err := z.Manifest(ctx, origin, append([][]byte{prevNote}, z.Notes...), note); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, origin, prevNote, note)
		}
		return nil
	}
	return h
}

// Manifest writes, from each base manifest note to the new note, the
// MicroPython patch (layout.MPatch, named by the notes' SHA-256) unless it
// is on the origin or is more than 3/4 of the note, and then the
// MicroPython update bundle (layout.MBundle, see mbundle): a board
// rebuilds the new note from the one it installed (which it keeps under
// its SHA-256) and downloads the whole note only when there is neither.
// Nil bases, and a base equal to the note, are skipped.
func (z *Zlib) Manifest(ctx context.Context, origin string, bases [][]byte, note []byte) error {
	newD := manifest.Digest(sha256.Sum256(note))
	done := map[manifest.Digest]bool{newD: true}
	for _, old := range bases {
		if old == nil {
			continue
		}
		oldD := manifest.Digest(sha256.Sum256(old))
		if done[oldD] {
			continue
		}
		done[oldD] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := z.notePatch(origin, old, note); err != nil {
			return err
		}
		if err := z.bundle(origin, old, note); err != nil {
			return fmt.Errorf("micropython update bundle: %w", err)
		}
	}
	return nil
}

// notePatch writes the MicroPython patch from the note old to note, unless
// it is on the origin or is more than 3/4 of the note.
func (z *Zlib) notePatch(origin string, old, note []byte) error {
	name := layout.MPatch(sha256.Sum256(old), sha256.Sum256(note))
	if exists(origin, name) {
		return nil
	}
	p, err := MakeMPatch(old, note)
	if err != nil {
		return fmt.Errorf("micropython manifest patch: %w", err)
	}
	if int64(len(p))*keepDen > int64(len(note))*keepNum {
		return nil
	}
	if err := writeAtomic(origin, name, p); err != nil {
		return fmt.Errorf("micropython manifest patch: %w", err)
	}
	z.Patches++
	z.PatchBytes += int64(len(p))
	return nil
}
