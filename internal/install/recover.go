package install

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// Recover finishes or undoes a transaction that a crash interrupted. It runs
// before anything else at every start; running it twice is running it once,
// and it survives a power cut at any instant.
func (in *Installer) Recover(ctx context.Context) error {
	if err := in.recoverConvert(); err != nil {
		return err
	}
	if err := in.checkLayout(); err != nil {
		return err
	}
	if in.slots() {
		return in.recoverSlots()
	}
	j, err := in.readJournal()
	if err != nil {
		return err
	}
	if j == nil {
		// Staging without a journal never touched the target: debris.
		return in.discardTxn()
	}
	rec, err := in.Installed()
	if err != nil {
		return err
	}
	rolling, err := exists(in.FS, in.rollbackMarker())
	if err != nil {
		return err
	}
	switch {
	case rolling:
		in.log().Warn("recovery: finishing an interrupted rollback", "from", j.Record.Version)
		return in.undo(j, true)
	case rec.Same(j.Record):
		if rec.Trial {
			return nil // the trial goes on; Confirm or Rollback ends it
		}
		in.log().Info("recovery: finishing clean-up of a committed release", "version", rec.Version)
		return in.finish(j, rec)
	}
	in.log().Warn("recovery: undoing an interrupted install", "version", j.Record.Version)
	return in.undo(j, false)
}

// finish cleans up after a commit. On trial it keeps journal and backups.
func (in *Installer) finish(j *journal, rec *Record) error {
	if rec.Trial {
		return nil
	}
	if err := in.removeEmptyDirs(j); err != nil {
		return err
	}
	if err := in.FS.Remove(in.journalPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	if err := syncDir(in.FS, in.txn()); err != nil {
		return err
	}
	if err := in.discardTxn(); err != nil {
		return err
	}
	return in.pruneManifests(rec)
}

// undo reverses a transaction, step by step, each step checking the disk so
// that a repeat does nothing more. If the transaction was committed (a
// rollback of a trial), a rollback marker makes an interrupted undo resume,
// and the record from before the transaction (j.Old, nil for "nothing
// installed") is committed again at the end.
func (in *Installer) undo(j *journal, committed bool) error {
	if committed {
		if err := writeAtomic(in.FS, in.rollbackMarker(), []byte(j.Record.Version+"\n")); err != nil {
			return err
		}
	}
	if err := in.undoChanges(j); err != nil {
		return err
	}
	if err := in.syncTargetDirs(j); err != nil {
		return err
	}
	if err := in.dropBackups(j); err != nil {
		return err
	}
	if committed {
		if err := in.restoreRecord(j.Old); err != nil {
			return err
		}
	}
	if err := in.FS.Remove(in.journalPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	if err := syncDir(in.FS, in.txn()); err != nil {
		return err
	}
	return in.discardTxn()
}

// undoChanges reverses the swap's phase B in the opposite order: files
// moved in and chmods, then the folders it created (deepest first), then the
// folders it removed (made again, shallowest first), then the deletions. So
// a folder that took the place of a deleted file is gone before the file
// comes back, and a folder that gave way to a file is back before its files.
func (in *Installer) undoChanges(j *journal) error {
	if err := in.undoKinds(j, opAdd, opReplace, opChmod); err != nil {
		return err
	}
	if err := in.removeCreatedDirs(j); err != nil {
		return err
	}
	if err := in.undoKinds(j, opRmdir); err != nil {
		return err
	}
	return in.undoKinds(j, opDelete)
}

// undoKinds undoes the operations of the given kinds. Rmdirs are undone
// last first (a folder is made before its subfolders); the others, each of
// its own path, in journal order, read from the file.
func (in *Installer) undoKinds(j *journal, kinds ...opKind) error {
	if slices.Equal(kinds, []opKind{opRmdir}) {
		for i := len(j.rmdirs) - 1; i >= 0; i-- {
			if err := in.undoOp(j.rmdirs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return j.each(func(o op) error {
		if slices.Contains(kinds, o.Kind) {
			return in.undoOp(o)
		}
		return nil
	})
}

// removeCreatedDirs removes the folders a transaction created, deepest
// first, unless something else was put in them.
func (in *Installer) removeCreatedDirs(j *journal) error {
	for i := len(j.Dirs) - 1; i >= 0; i-- {
		target := under(in.Target, j.Dirs[i])
		// Not a folder: never made, or still the file that gives way to it.
		ok, err := isDir(in.FS, target)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = in.FS.Remove(target)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("remove folder %s: %w", j.Dirs[i], err)
		}
	}
	return nil
}

// undoOp reverses one operation if it took effect.
func (in *Installer) undoOp(o op) error {
	target := under(in.Target, o.Path)
	switch o.Kind {
	case opAdd:
		// A folder there is the installed release's, not yet removed.
		if dir, err := isDir(in.FS, target); err != nil || dir {
			return err
		}
		// ENOTDIR: its folder is the installed release's file again.
		if err := in.FS.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("undo add %s: %w", o.Path, err)
		}
	case opRmdir:
		return in.undoRmdir(o)
	case opReplace, opDelete:
		ok, err := exists(in.FS, in.backup(o.N))
		if err != nil || !ok {
			return err
		}
		if dir, err := isDir(in.FS, target); err != nil || dir {
			return cmp.Or(err, fmt.Errorf("%w: undo %s %s: a folder is in the way, holding files the release did not install: move them away and run recover again", ErrConflict, o.Kind, o.Path))
		}
		// If the swap never ran, backup and target are links to one file and
		// rename(2) leaves both: dropBackups removes the extra link later.
		if err := in.FS.Rename(in.backup(o.N), target); err != nil {
			return fmt.Errorf("undo %s %s: %w", o.Kind, o.Path, err)
		}
	case opChmod:
		if ok, err := exists(in.FS, target); err != nil || !ok {
			return err
		}
		if err := in.FS.Chmod(target, o.OldMode); err != nil {
			return fmt.Errorf("undo chmod %s: %w", o.Path, err)
		}
		return syncFile(in.FS, target)
	}
	return nil
}

// undoRmdir makes a folder that gave way to a file again, with its mode.
func (in *Installer) undoRmdir(o op) error {
	target := under(in.Target, o.Path)
	fi, err := in.FS.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		if err := in.FS.Mkdir(target, o.OldMode); err != nil {
			return fmt.Errorf("undo rmdir %s: %w", o.Path, err)
		}
		fi, err = in.FS.Lstat(target)
	}
	switch {
	case err != nil:
		return fmt.Errorf("undo rmdir %s: %w", o.Path, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: undo rmdir %s: not a folder", ErrConflict, o.Path)
	case fi.Mode().Perm() != o.OldMode: // umask; durable with the folder's fsync
		if err := in.FS.Chmod(target, o.OldMode); err != nil {
			return fmt.Errorf("undo rmdir %s: %w", o.Path, err)
		}
	}
	return nil
}

// dropBackups removes backup links left beside restored files, only after
// the target folders were fsynced.
func (in *Installer) dropBackups(j *journal) error {
	err := j.each(func(o op) error {
		if o.Kind != opReplace && o.Kind != opDelete {
			return nil
		}
		if err := in.FS.Remove(in.backup(o.N)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove backup of %s: %w", o.Path, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	backup := filepath.Join(in.txn(), "backup")
	if ok, err := exists(in.FS, backup); err != nil || !ok {
		return err
	}
	return syncDir(in.FS, backup)
}

func (in *Installer) restoreRecord(r *Record) error {
	if r != nil {
		return writeRecord(in.FS, in.State, r)
	}
	path := filepath.Join(in.State, "installed.json")
	if err := in.FS.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return syncDir(in.FS, in.State)
}

// removeEmptyDirs removes folders that deletions left empty, deepest first,
// never the target itself.
func (in *Installer) removeEmptyDirs(j *journal) error {
	set := map[string]bool{}
	err := j.each(func(o op) error {
		if o.Kind == opDelete {
			for _, d := range parents(o.Path) {
				set[d] = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(a, b int) bool { return strings.Count(dirs[a], "/") > strings.Count(dirs[b], "/") })
	for _, d := range dirs {
		if ok, err := isDir(in.FS, under(in.Target, d)); err != nil || !ok {
			if err != nil {
				return err
			}
			continue // gone, or a file of the new release now
		}
		es, err := in.FS.ReadDir(under(in.Target, d))
		if err == nil && len(es) > 0 {
			continue
		}
		if err != nil {
			return err
		}
		if err := in.FS.Remove(under(in.Target, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove empty folder %s: %w", d, err)
		}
		if err := syncDir(in.FS, under(in.Target, parentOf(d))); err != nil {
			return err
		}
	}
	return nil
}

// pruneManifests removes stored manifest documents that rec no longer needs.
func (in *Installer) pruneManifests(rec *Record) error {
	keep := map[string]bool{}
	for r := rec; r != nil; r = r.Previous {
		keep[filepath.Base(in.manifestDoc(r.Manifest))] = true
	}
	es, err := in.FS.ReadDir(in.manifests())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	removed := false
	for _, e := range es {
		if !keep[e.Name()] {
			if err := in.FS.Remove(filepath.Join(in.manifests(), e.Name())); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		return syncDir(in.FS, in.manifests())
	}
	return nil
}

// Confirm ends the trial of the installed release: it stays, and the
// previous release's backups are dropped.
func (in *Installer) Confirm(ctx context.Context) error {
	if in.slots() {
		return in.confirmSlots()
	}
	rec, err := in.Installed()
	if err != nil {
		return err
	}
	if rec == nil || !rec.Trial {
		return ErrNoTrial
	}
	j, err := in.readJournal()
	if err != nil {
		return err
	}
	rec.Trial, rec.Previous = false, nil
	if err := writeRecord(in.FS, in.State, rec); err != nil {
		return err
	}
	if j == nil {
		return in.pruneManifests(rec)
	}
	return in.finish(j, rec)
}

// Rollback undoes the release on trial and commits the previous one again.
// It returns the record rolled back to (nil if nothing was installed before).
// In the slots layout it flips back to the previous slot, on trial or not.
func (in *Installer) Rollback(ctx context.Context) (*Record, error) {
	if in.slots() {
		return in.rollbackSlots(ctx)
	}
	rec, err := in.Installed()
	if err != nil {
		return nil, err
	}
	j, err := in.readJournal()
	if err != nil {
		return nil, err
	}
	if rec == nil || !rec.Trial || j == nil || !rec.Same(j.Record) {
		return nil, fmt.Errorf("%w: only a release on trial can be rolled back (its backups are kept only then)", ErrNoTrial)
	}
	if err := in.undo(j, true); err != nil {
		return nil, err
	}
	return rec.Previous, in.pruneManifests(rec.Previous)
}
