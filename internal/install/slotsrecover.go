package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// readSwitch returns the journal of a slot switch in flight, or nil.
func (in *Installer) readSwitch() (*slotSwitch, error) {
	data, err := readFile(in.FS, in.switchPath(), maxRecordSize*4)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sw slotSwitch
	if err := json.Unmarshal(data, &sw); err != nil {
		return nil, fmt.Errorf("%w: %s: unreadable (%v): point %s at the slot the commit record names, then delete it", ErrState, in.switchPath(), err, in.Target)
	}
	if err := errors.Join(sw.Record.parseHex(), sw.Old.parseHex()); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrState, in.switchPath(), err)
	}
	if sw.Slot != "" && sw.Slot != "a" && sw.Slot != "b" {
		return nil, fmt.Errorf("%w: %s: slot %q: want \"a\" or \"b\"", ErrState, in.switchPath(), sw.Slot)
	}
	return &sw, nil
}

// recoverSlots completes a slot switch a crash interrupted: the slot it
// names was complete and durable before it was journaled.
func (in *Installer) recoverSlots() error {
	sw, err := in.readSwitch()
	if err != nil || sw == nil {
		return err
	}
	in.log().Warn("recovery: completing an interrupted switch of slots", "slot", sw.Slot)
	return in.completeSwitch(sw)
}

// slotsOldManifest returns the installed manifest, or nil when there is none
// (or it is missing: then files the new release lacks are not counted as
// deleted, and nothing else changes, since a slot holds only its release).
func (in *Installer) slotsOldManifest(rec *Record) (*manifest.Manifest, error) {
	if rec == nil {
		return nil, nil
	}
	m, err := in.InstalledManifest()
	if errors.Is(err, fs.ErrNotExist) {
		in.log().Warn("the installed manifest is missing from the state folder", "version", rec.Version)
		return nil, nil
	}
	return m, err
}

// confirmSlots ends a trial; the previous slot stays for `ferry-agent
// rollback` until the next update.
func (in *Installer) confirmSlots() error {
	rec, err := in.Installed()
	if err != nil {
		return err
	}
	if rec == nil || !rec.Trial {
		return ErrNoTrial
	}
	rec.Trial = false
	return writeRecord(in.FS, in.State, rec)
}

// rollbackSlots points target back at the previous slot, on trial or not;
// a trial with nothing before it leaves nothing installed.
func (in *Installer) rollbackSlots(ctx context.Context) (*Record, error) {
	if err := in.Recover(ctx); err != nil {
		return nil, err
	}
	rec, err := in.Installed()
	if err != nil {
		return nil, err
	}
	if rec == nil || (rec.Previous == nil && !rec.Trial) {
		return nil, fmt.Errorf("%w: no previous release to return to (the slots layout keeps one from an update until the next update)", ErrNoPrevious)
	}
	sw := &slotSwitch{Old: rec}
	if rec.Previous != nil {
		prev := *rec.Previous
		prev.Previous, prev.Trial = nil, false
		ok, err := isDir(in.FS, in.slotDir(prev.Slot))
		if err != nil || !ok || prev.Slot == rec.Slot {
			return nil, fmt.Errorf("%w: the previous release %s should be in slot %q (%s), which is missing", ErrState, prev.Version, prev.Slot, in.slotDir(prev.Slot))
		}
		sw.Record, sw.Slot = &prev, prev.Slot
	}
	return sw.Record, in.switchSlots(sw)
}
