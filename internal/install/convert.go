package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// conversion is <state>/convert.json, the journal of a change of layout:
// To is the layout the device is moving to; Slot is the slot that holds
// (to slots: will hold) the installed release. Recovery always completes it.
type conversion struct {
	To   string `json:"to"`
	Slot string `json:"slot"`
}

func (in *Installer) convertPath() string { return filepath.Join(in.State, "convert.json") }

// diskLayout returns the layout the target has on disk: LayoutSlots for a
// link, LayoutInPlace for a folder, "" when there is no target.
func (in *Installer) diskLayout() (string, error) {
	fi, err := in.FS.Lstat(in.Target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink != 0 && in.slotLinked():
		return LayoutSlots, nil
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("%w: target %q is a link to a folder of your own: set target to that folder before changing the layout", ErrLayout, in.Target)
	case fi.IsDir():
		return LayoutInPlace, nil
	}
	return "", fmt.Errorf("%w: target %q is a file", ErrLayout, in.Target)
}

// Convert changes the device to layout to (LayoutSlots or LayoutInPlace),
// keeping the installed release and every file of the device's own. To the
// slots layout, the target folder is renamed to slot a and a link to it
// takes its place; back in place, the link is removed and the slot renamed
// to the target. Between the two steps the target is missing for an
// instant; a crash there is completed by the next Recover (every start), as
// is a crash at any other point. A release on trial must be confirmed or
// rolled back first, and the state folder must be outside the target.
// After it, set layout in the agent's config to match.
func (in *Installer) Convert(ctx context.Context, to string) error {
	if to != LayoutSlots && to != LayoutInPlace {
		return fmt.Errorf("%w: layout %q: want %q or %q", ErrLayout, to, LayoutSlots, LayoutInPlace)
	}
	if err := in.recoverConvert(); err != nil {
		return err
	}
	from, err := in.diskLayout()
	if err != nil || from == "" || from == to {
		return err // nothing installed: the first release makes the layout
	}
	cur := *in
	cur.Layout = from
	if err := cur.Recover(ctx); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	cv := &conversion{To: to, Slot: "a"}
	if from == LayoutSlots {
		if cv.Slot, err = cur.activeSlot(); err != nil {
			return err
		}
	}
	if err := in.convertable(); err != nil {
		return err
	}
	data, err := json.Marshal(cv)
	if err != nil {
		return err
	}
	if err := writeAtomic(in.FS, in.convertPath(), append(data, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return in.completeConvert(cv)
}

// convertable refuses a conversion that would lose something.
func (in *Installer) convertable() error {
	rec, err := in.Installed()
	if err != nil {
		return err
	}
	if rec != nil && rec.Trial {
		return fmt.Errorf("%w: %s is on trial: confirm or roll it back first", ErrConflict, rec.Version)
	}
	rel, err := filepath.Rel(in.Target, in.State)
	if err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%w: the state folder %q is inside the target %q: move it outside (and set state in the config) first", ErrLayout, in.State, in.Target)
	}
	return nil
}

// recoverConvert completes a conversion a crash interrupted.
func (in *Installer) recoverConvert() error {
	data, err := readFile(in.FS, in.convertPath(), 1<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var cv conversion
	if err := json.Unmarshal(data, &cv); err != nil || (cv.To != LayoutSlots && cv.To != LayoutInPlace) || (cv.Slot != "a" && cv.Slot != "b") {
		return fmt.Errorf("%w: %s: unreadable (%v): finish the change of layout by hand, then delete it", ErrState, in.convertPath(), err)
	}
	in.log().Warn("recovery: completing an interrupted change of layout", "to", cv.To)
	return in.completeConvert(&cv)
}

// completeConvert carries out cv from wherever it stopped.
func (in *Installer) completeConvert(cv *conversion) error {
	var err error
	if cv.To == LayoutSlots {
		err = in.toSlots()
	} else {
		err = in.toInPlace(cv.Slot)
	}
	if err != nil {
		return fmt.Errorf("change to the %s layout: %w", cv.To, err)
	}
	slot := cv.Slot
	if cv.To == LayoutInPlace {
		slot = ""
	}
	rec, err := in.Installed()
	if err != nil {
		return err
	}
	if rec != nil && (rec.Slot != slot || rec.Previous != nil) {
		rec.Slot, rec.Previous = slot, nil
		if err := writeRecord(in.FS, in.State, rec); err != nil {
			return err
		}
	}
	if err := in.pruneManifests(rec); err != nil {
		return err
	}
	return removeSynced(in.FS, in.convertPath())
}

// toSlots renames the target folder to slot a and links target to it.
func (in *Installer) toSlots() error {
	parent := filepath.Dir(in.Target)
	if ok, err := isDir(in.FS, in.Target); err != nil || ok {
		if err != nil {
			return err
		}
		for _, s := range slotNames { // leftovers of an earlier life in slots
			if err := removeTree(in.FS, in.slotDir(s)); err != nil {
				return err
			}
		}
		if err := in.FS.Rename(in.Target, in.slotDir("a")); err != nil {
			return err
		}
		if err := syncDir(in.FS, parent); err != nil {
			return err
		}
	}
	if err := in.flip("a"); err != nil {
		return err
	}
	return removeAll(in.FS, in.txn()) // the in-place transaction folder, empty once recovered
}

// toInPlace removes the link and renames slot to the target; the other
// slot is removed.
func (in *Installer) toInPlace(slot string) error {
	parent := filepath.Dir(in.Target)
	fi, err := in.FS.Lstat(in.Target)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := removeSynced(in.FS, in.Target); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if ok, err := exists(in.FS, in.Target); err != nil || !ok {
		if err != nil {
			return err
		}
		if err := in.FS.Rename(in.slotDir(slot), in.Target); err != nil {
			return err
		}
		if err := syncDir(in.FS, parent); err != nil {
			return err
		}
	}
	if err := removeTree(in.FS, in.slotDir(otherSlot(slot))); err != nil {
		return err
	}
	if err := removeTree(in.FS, in.linkTemp()); err != nil {
		return err
	}
	if err := removeSynced(in.FS, in.switchPath()); err != nil {
		return err
	}
	return syncDir(in.FS, parent)
}
