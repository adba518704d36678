package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// Install makes the target hold rel. It first finishes or undoes any
// transaction a crash left behind. On any error the target is left as it was
// (the transaction is undone, now or by the next Recover).
func (in *Installer) Install(ctx context.Context, rel Release, fetch Fetcher, opt Options) (*Result, error) {
	if in.slots() {
		return in.installSlots(ctx, rel, fetch, opt)
	}
	if err := in.Recover(ctx); err != nil {
		return nil, err
	}
	if err := in.checkInPlace(); err != nil {
		return nil, err
	}
	oldRec, err := in.Installed()
	if err != nil {
		return nil, err
	}
	if oldRec != nil && oldRec.Trial && oldRec.Manifest == rel.Digest {
		return &Result{Old: oldRec, New: oldRec, UpToDate: true}, nil
	}
	if oldRec != nil && oldRec.Trial {
		return nil, fmt.Errorf("%w: %s is on trial: confirm or roll it back first", ErrConflict, oldRec.Version)
	}
	// The document is stored first (nothing is written if it is there
	// already), so that it need not stay in memory while files and the old
	// manifest are read, hashed and streamed in; until the commit it is debris.
	if err := in.storeDocument(rel.Digest, rel.Document); err != nil {
		return nil, err
	}
	rel.Document = nil
	var oldM *manifest.Manifest
	if oldRec != nil {
		oldM, err = in.InstalledManifest()
		if errors.Is(err, fs.ErrNotExist) {
			// Without it nothing is lost but the list of paths to delete:
			// files the old release had and the new one lacks stay behind.
			in.log().Warn("the installed manifest is missing from the state folder: files removed from the release will be left in place", "version", oldRec.Version)
			oldM, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	m := rel.Manifest
	newRec := &Record{Channel: m.Channel, Version: m.Version, Sequence: max(rel.Sequence, m.Sequence), Manifest: rel.Digest, InstalledAt: in.now()}
	p, err := in.makePlan(ctx, oldM, m)
	oldM = nil
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	res := &Result{Old: oldRec, New: newRec}
	switch {
	case len(p.ops) == 0 && oldRec.Same(newRec):
		res.UpToDate, res.New = true, oldRec
		return res, nil
	case len(p.ops) == 0:
		return res, in.commitNoChange(newRec)
	}
	if err := in.stageAll(ctx, p, fetch, opt, res); err != nil {
		return nil, errors.Join(err, in.discardTxn())
	}
	if opt.Trial {
		newRec.Trial, newRec.Previous = true, oldRec
	}
	j := &journal{Record: newRec, Old: oldRec, Ops: p.ops, Dirs: p.dirs}
	if err := in.writeJournal(j); err != nil {
		return nil, errors.Join(err, in.discardTxn())
	}
	if err := in.swap(j); err != nil {
		return nil, in.abort(j, fmt.Errorf("swap: %w", err))
	}
	if err := writeRecord(in.FS, in.State, newRec); err != nil {
		return nil, in.abort(j, fmt.Errorf("commit: %w", err))
	}
	return res, in.finish(j, newRec)
}

// commitNoChange handles a release whose files are all already in place:
// nothing in the target is written, only the commit record.
func (in *Installer) commitNoChange(newRec *Record) error {
	if err := writeRecord(in.FS, in.State, newRec); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return in.pruneManifests(newRec)
}

// abort undoes a transaction after an error, and reports both. If the commit
// record was replaced before the error (its directory fsync failed), the
// undo commits the old record again.
func (in *Installer) abort(j *journal, cause error) error {
	in.log().Error("install failed, rolling back", "version", j.Record.Version, "err", cause)
	rec, err := in.Installed()
	if err == nil {
		err = in.undo(j, rec.Same(j.Record))
	}
	if err != nil {
		return fmt.Errorf("%w; rollback failed too (it runs again at the next start): %w", cause, err)
	}
	return cause
}

// discardTxn removes a transaction folder that has no journal yet.
func (in *Installer) discardTxn() error { return removeAll(in.FS, in.txn()) }

func (in *Installer) storeDocument(d manifest.Digest, doc []byte) error {
	if err := mkdirAll(in.FS, in.manifests()); err != nil {
		return err
	}
	return writeAtomic(in.FS, in.manifestDoc(d), doc)
}

// stageAll fetches every needed content into the stage folder, verified.
func (in *Installer) stageAll(ctx context.Context, p *plan, fetch Fetcher, opt Options, res *Result) error {
	if err := in.discardTxn(); err != nil {
		return err
	}
	if err := mkdirAll(in.FS, filepath.Join(in.txn(), "stage")); err != nil {
		return err
	}
	var total, done int64
	files, staged := 0, 0
	for _, o := range p.ops {
		if o.Kind == opAdd || o.Kind == opReplace {
			total += o.file.Size
			files++
		}
	}
	for i := range p.ops {
		o := &p.ops[i]
		switch o.Kind {
		case opAdd, opReplace:
			if err := in.stageOne(ctx, o, fetch); err != nil {
				return fmt.Errorf("stage %s: %w", o.Path, err)
			}
			done += o.file.Size
			staged++
			if opt.Progress != nil {
				opt.Progress(staged, files, done, total)
			}
		}
		res.count(o.Kind)
	}
	res.Bytes = total
	return syncDir(in.FS, filepath.Join(in.txn(), "stage"))
}

func (r *Result) count(k opKind) {
	switch k {
	case opAdd:
		r.Added++
	case opReplace:
		r.Replaced++
	case opDelete:
		r.Deleted++
	case opChmod:
		r.Chmods++
	}
}

// stageOne streams one file's content into its stage file and fsyncs it.
func (in *Installer) stageOne(ctx context.Context, o *op, fetch Fetcher) error {
	if o.old != nil {
		src := o.Path
		if o.base != "" {
			src = o.base
		}
		r, err := in.FS.Open(under(in.Target, src))
		if err != nil {
			return err
		}
		defer r.Close()
		o.old.Data = r
	}
	return in.receive(ctx, in.stage(o.N), o.file, o.old, fetch)
}

// receive streams the content of f from fetch into a new file at path,
// verified as it is written, with f's mode, and fsyncs it.
func (in *Installer) receive(ctx context.Context, path string, f *manifest.File, old *Old, fetch Fetcher) error {
	var file vfs.File
	var ver *verifier
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	sink := func() (io.Writer, error) {
		if file != nil {
			file.Close()
		}
		var err error
		if file, err = in.FS.Create(path, 0o600); err != nil {
			return nil, err
		}
		ver = newVerifier(file, *f)
		return ver, nil
	}
	if err := fetch.Fetch(ctx, *f, old, sink); err != nil {
		return err
	}
	if ver == nil {
		return fmt.Errorf("%w: fetcher wrote nothing", ErrShort)
	}
	if err := ver.check(); err != nil {
		return err
	}
	if err := in.FS.Chmod(path, f.Mode); err != nil {
		return err
	}
	if err := file.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	err := file.Close()
	file = nil
	return err
}

// swap moves the staged release into place. Phase A links every file to be
// replaced or deleted into the backup folder and makes that durable; phase B
// changes the target (deletions, folders removed, folders created, files
// moved in, chmods: a file may give way to a folder and a folder to a file)
// and fsyncs every folder it touched.
func (in *Installer) swap(j *journal) error {
	backup := filepath.Join(in.txn(), "backup")
	if err := mkdirAll(in.FS, backup); err != nil {
		return err
	}
	for _, o := range j.Ops {
		if o.Kind == opReplace || o.Kind == opDelete {
			if err := in.FS.Link(under(in.Target, o.Path), in.backup(o.N)); err != nil {
				return fmt.Errorf("back up %s: %w", o.Path, err)
			}
		}
	}
	if err := syncDir(in.FS, backup); err != nil {
		return err
	}
	for _, o := range j.Ops { // deletions, then the folders they emptied, deepest first
		if o.Kind == opDelete || o.Kind == opRmdir {
			if err := in.FS.Remove(under(in.Target, o.Path)); err != nil {
				return fmt.Errorf("%s %s: %w", o.Kind, o.Path, err)
			}
		}
	}
	for _, d := range j.Dirs {
		if err := in.FS.Mkdir(under(in.Target, d), 0o755); err != nil {
			return fmt.Errorf("create folder %s: %w", d, err)
		}
	}
	for _, o := range j.Ops {
		if err := in.apply(o); err != nil {
			return err
		}
	}
	return in.syncTargetDirs(j)
}

func (in *Installer) apply(o op) error {
	target := under(in.Target, o.Path)
	switch o.Kind {
	case opAdd, opReplace:
		if err := in.FS.Rename(in.stage(o.N), target); err != nil {
			return fmt.Errorf("move %s into place: %w", o.Path, err)
		}
	case opChmod:
		if err := in.FS.Chmod(target, o.Mode); err != nil {
			return fmt.Errorf("chmod %s: %w", o.Path, err)
		}
		return syncFile(in.FS, target)
	}
	return nil
}

// syncTargetDirs fsyncs every target folder the transaction changed,
// deepest first.
func (in *Installer) syncTargetDirs(j *journal) error {
	set := map[string]bool{"": true}
	for _, o := range j.Ops {
		set[parentOf(o.Path)] = true
		if o.Kind == opRmdir {
			set[o.Path] = true // an undo makes it again
		}
	}
	for _, d := range j.Dirs {
		set[d] = true
		set[parentOf(d)] = true
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		ok, err := isDir(in.FS, under(in.Target, d))
		if err != nil {
			return err
		}
		if !ok {
			continue // gone, or a file now
		}
		if err := syncDir(in.FS, under(in.Target, d)); err != nil {
			return err
		}
	}
	return nil
}
