package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// The layouts of the target (Installer.Layout).
const (
	// LayoutInPlace: target is a folder; a release is swapped in file by
	// file (the default).
	LayoutInPlace = "inplace"
	// LayoutSlots: target is a symbolic link to one of two slot folders
	// beside it; a release is built in the other one and the link flips.
	LayoutSlots = "slots"
)

// slotNames are the two slots: target.slot-a and target.slot-b.
var slotNames = [2]string{"a", "b"}

func (in *Installer) slots() bool              { return in.Layout == LayoutSlots }
func (in *Installer) slotDir(s string) string  { return in.Target + ".slot-" + s }
func (in *Installer) slotLink(s string) string { return filepath.Base(in.slotDir(s)) }
func (in *Installer) linkTemp() string         { return in.Target + ".slot-new" }
func (in *Installer) switchPath() string       { return filepath.Join(in.State, "slots.json") }

func otherSlot(s string) string {
	if s == "a" {
		return "b"
	}
	return "a"
}

// slotSwitch is <state>/slots.json, the journal of one switch between
// slots: the link is to point at Slot ("" for no link: nothing installed)
// and the commit record to be Record (nil: none). It is written only once
// Slot is built and durable, so recovery always completes it.
type slotSwitch struct {
	Record *Record `json:"record"`
	Old    *Record `json:"old"`
	Slot   string  `json:"slot"`
}

// activeSlot returns the slot target links to, or "" when target does not
// exist. Anything else at target is ErrLayout.
func (in *Installer) activeSlot() (string, error) {
	fi, err := in.FS.Lstat(in.Target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case fi.IsDir():
		return "", fmt.Errorf("%w: target %q is a folder, not the link of the slots layout: run `ferry-agent convert --layout slots` (or set layout = \"inplace\")", ErrLayout, in.Target)
	case fi.Mode()&fs.ModeSymlink == 0:
		return "", fmt.Errorf("%w: target %q is a file, not the link of the slots layout", ErrLayout, in.Target)
	}
	dest, err := in.FS.Readlink(in.Target)
	if err != nil {
		return "", err
	}
	for _, s := range slotNames {
		if dest == in.slotLink(s) {
			return s, nil
		}
	}
	return "", fmt.Errorf("%w: target %q links to %q, not to one of Ferry's slots %q or %q", ErrLayout, in.Target, dest, in.slotLink("a"), in.slotLink("b"))
}

// checkLayout refuses a target whose layout on disk is not in.Layout (an
// empty folder is a fresh device of either layout).
func (in *Installer) checkLayout() error {
	if !in.slots() {
		return in.checkInPlace()
	}
	if es, err := in.FS.ReadDir(in.Target); err == nil && len(es) == 0 {
		if fi, err := in.FS.Lstat(in.Target); err == nil && fi.IsDir() {
			return nil
		}
	}
	_, err := in.activeSlot()
	return err
}

// checkInPlace refuses an in-place transaction on a target that is the
// link of the slots layout (a link to a folder of one's own is fine).
func (in *Installer) checkInPlace() error {
	if in.slotLinked() {
		return fmt.Errorf("%w: target %q is a link to a slot (the slots layout): set layout = \"slots\", or run `ferry-agent convert --layout inplace`", ErrLayout, in.Target)
	}
	return nil
}

// slotLinked reports whether target is a link to one of the slots.
func (in *Installer) slotLinked() bool {
	dest, err := in.FS.Readlink(in.Target)
	return err == nil && (dest == in.slotLink("a") || dest == in.slotLink("b"))
}

// freshSlots makes a device that never installed anything ready for its
// first slot: an empty folder at target (made by an installer) is removed.
func (in *Installer) freshSlots(rec *Record) error {
	if rec != nil {
		return nil
	}
	fi, err := in.FS.Lstat(in.Target)
	if err != nil || !fi.IsDir() {
		return nil
	}
	es, err := in.FS.ReadDir(in.Target)
	if err != nil || len(es) > 0 {
		return err
	}
	if err := in.FS.Remove(in.Target); err != nil {
		return fmt.Errorf("remove the empty folder %s (the slots layout makes a link there): %w", in.Target, err)
	}
	return syncDir(in.FS, filepath.Dir(in.Target))
}

// installSlots is Install in the slots layout: the release is built in the
// inactive slot (unchanged files hard-linked from the active one), made
// durable and checked, and one rename of a new link makes it current.
func (in *Installer) installSlots(ctx context.Context, rel Release, fetch Fetcher, opt Options) (*Result, error) {
	if err := in.Recover(ctx); err != nil {
		return nil, err
	}
	rel, err := in.wholeRelease(rel)
	if err != nil {
		return nil, err
	}
	oldRec, err := in.Installed()
	if err != nil {
		return nil, err
	}
	if err := in.freshSlots(oldRec); err != nil {
		return nil, err
	}
	active, err := in.activeSlot()
	if err != nil {
		return nil, err
	}
	m := rel.Manifest
	newRec := &Record{Channel: m.Channel, Version: m.Version, Sequence: max(rel.Sequence, m.Sequence), Manifest: rel.Digest,
		InstalledAt: in.now(), Slot: otherSlot(active), Trial: opt.Trial}
	switch {
	case oldRec != nil && oldRec.Trial && oldRec.Manifest == rel.Digest, oldRec.Same(newRec) && active != "":
		return &Result{Old: oldRec, New: oldRec, UpToDate: true}, nil
	case oldRec != nil && oldRec.Trial:
		return nil, fmt.Errorf("%w: %s is on trial: confirm or roll it back first", ErrConflict, oldRec.Version)
	}
	if err := in.storeDocument(rel.Digest, rel.Document); err != nil {
		return nil, err
	}
	oldM, err := in.slotsOldManifest(oldRec)
	if err != nil {
		return nil, err
	}
	if err := in.dropPrevious(oldRec); err != nil {
		return nil, err
	}
	res := &Result{Old: oldRec, New: newRec}
	if err := in.buildSlot(ctx, newRec.Slot, active, oldM, m, fetch, opt, res); err != nil {
		return nil, fmt.Errorf("build slot %s: %w", newRec.Slot, err)
	}
	if oldRec != nil && active != "" {
		prev := *oldRec
		prev.Previous, prev.Trial = nil, false
		newRec.Previous = &prev
	}
	return res, in.switchSlots(&slotSwitch{Record: newRec, Old: oldRec, Slot: newRec.Slot})
}

// wholeRelease reads a release given by DocumentFile, or with a manifest of
// its header only, into memory: the slots layout builds from the whole
// manifest.
func (in *Installer) wholeRelease(rel Release) (Release, error) {
	if rel.DocumentFile != "" {
		doc, err := readFile(in.FS, rel.DocumentFile, 1<<30)
		if err != nil {
			return rel, err
		}
		rel.Document, rel.DocumentFile = doc, ""
	}
	if rel.Manifest.Files == nil {
		m, err := in.Decode(rel.Document)
		if err != nil {
			return rel, err
		}
		rel.Manifest = m
	}
	return rel, nil
}

// dropPrevious forgets the release in the inactive slot before that slot is
// rebuilt: from then on it cannot be rolled back to.
func (in *Installer) dropPrevious(rec *Record) error {
	if rec == nil || rec.Previous == nil {
		return nil
	}
	c := *rec
	c.Previous = nil
	return writeRecord(in.FS, in.State, &c)
}

// switchSlots journals sw and carries it out. If that fails with the power
// on, it returns to sw.Old; a power cut is completed by Recover instead.
func (in *Installer) switchSlots(sw *slotSwitch) error {
	sw.Record.fillHex()
	sw.Old.fillHex()
	data, err := json.MarshalIndent(sw, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(in.FS, in.switchPath(), append(data, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	err = in.completeSwitch(sw)
	if err == nil {
		return nil
	}
	back := &slotSwitch{Record: sw.Old}
	if sw.Old != nil {
		back.Slot = sw.Old.Slot
	}
	if berr := in.completeSwitch(back); berr != nil {
		return fmt.Errorf("switch to slot %s: %w; return to the previous slot failed too (the switch completes at the next start): %w", sw.Slot, err, berr)
	}
	return fmt.Errorf("switch to slot %s: %w", sw.Slot, err)
}

// completeSwitch makes the link and the commit record what sw says, then
// removes the journal. Running it twice is running it once.
func (in *Installer) completeSwitch(sw *slotSwitch) error {
	var err error
	if sw.Slot == "" {
		err = in.removeLink()
	} else {
		err = in.flip(sw.Slot)
	}
	if err != nil {
		return err
	}
	if sw.Record == nil {
		err = removeSynced(in.FS, filepath.Join(in.State, "installed.json"))
	} else {
		err = writeRecord(in.FS, in.State, sw.Record)
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := removeSynced(in.FS, in.switchPath()); err != nil {
		return fmt.Errorf("remove journal: %w", err)
	}
	return in.pruneManifests(sw.Record)
}

// flip points target at slot s: a new link under a temporary name, made
// durable, renamed over target (one atomic step), made durable.
func (in *Installer) flip(s string) error {
	parent := filepath.Dir(in.Target)
	if dest, err := in.FS.Readlink(in.Target); err == nil && dest == in.slotLink(s) {
		return syncDir(in.FS, parent) // maybe renamed but not yet durable
	}
	if err := in.FS.Remove(in.linkTemp()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", in.linkTemp(), err)
	}
	if err := in.FS.Symlink(in.slotLink(s), in.linkTemp()); err != nil {
		return fmt.Errorf("link slot %s: %w", s, err)
	}
	if err := syncDir(in.FS, parent); err != nil {
		return err
	}
	if err := in.FS.Rename(in.linkTemp(), in.Target); err != nil {
		return fmt.Errorf("switch %s to slot %s: %w", in.Target, s, err)
	}
	return syncDir(in.FS, parent)
}

// removeLink removes the link at target (nothing installed any more).
func (in *Installer) removeLink() error {
	fi, err := in.FS.Lstat(in.Target)
	if errors.Is(err, fs.ErrNotExist) {
		return syncDir(in.FS, filepath.Dir(in.Target))
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%w: target %q is not a link", ErrLayout, in.Target)
	}
	return removeSynced(in.FS, in.Target)
}

// removeSynced removes name (if it exists) and fsyncs its folder.
func removeSynced(fsys vfs.FS, name string) error {
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(fsys, filepath.Dir(name))
}
