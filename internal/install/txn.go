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
	// already): the plan and the staging read the files from it, line by
	// line, and from the installed one; until the commit it is debris.
	if err := in.storeRelease(rel); err != nil {
		return nil, err
	}
	m := rel.Manifest
	newRec := &Record{Channel: m.Channel, Version: m.Version, Sequence: max(rel.Sequence, m.Sequence), Manifest: rel.Digest, InstalledAt: in.now()}
	txRec := *newRec // what a transaction commits
	if opt.Trial {
		txRec.Trial, txRec.Previous = true, oldRec
	}
	p, err := in.planTxn(ctx, oldRec, &txRec)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("plan: %w", err), in.discardTxn())
	}
	res := &Result{Old: oldRec, New: newRec}
	switch ops := p.counts.Files() + p.counts.rmdirs; {
	case ops == 0 && oldRec.Same(newRec): // no journal was written
		res.UpToDate, res.New = true, oldRec
		return res, nil
	case ops == 0:
		return res, in.commitNoChange(newRec)
	}
	newRec, res.New = &txRec, &txRec
	res.Added, res.Replaced, res.Deleted, res.Chmods = p.counts.Added, p.counts.Replaced, p.counts.Deleted, p.counts.Chmods
	if err := in.stageAll(ctx, p, oldRec, rel.Digest, fetch, opt); err != nil {
		return nil, errors.Join(err, in.discardTxn())
	}
	res.Bytes = p.bytes
	if err := in.commitJournal(in.journalPath() + ".tmp"); err != nil {
		return nil, errors.Join(err, in.discardTxn())
	}
	j := &journal{Record: newRec, Old: oldRec, Dirs: p.dirs, path: in.journalPath(), in: in, rmdirs: p.rmdirs}
	if err := in.swap(j); err != nil {
		return nil, in.abort(j, fmt.Errorf("swap: %w", err))
	}
	if err := writeRecord(in.FS, in.State, newRec); err != nil {
		return nil, in.abort(j, fmt.Errorf("commit: %w", err))
	}
	return res, in.finish(j, newRec)
}

// planTxn starts a transaction folder and plans the release of rec against
// the installed one (oldRec) and the disk, writing the journal (not yet in
// place) as it goes.
func (in *Installer) planTxn(ctx context.Context, oldRec, rec *Record) (*plan, error) {
	newM, err := in.openManifest(rec.Manifest)
	if err != nil {
		return nil, err
	}
	defer newM.Close()
	old, err := in.openOld(oldRec)
	if err != nil {
		return nil, err
	}
	var oldDoc manifest.Digest
	if old != nil {
		defer old.Close()
		oldDoc = oldRec.Manifest
	}
	jw := newJournalWriter(in.FS, in.journalPath()+".tmp", rec, oldRec)
	p, err := in.makePlan(ctx, old, oldDoc, newM, jw)
	if err != nil {
		return nil, errors.Join(err, jw.close())
	}
	p.counts.rmdirs = len(p.rmdirs)
	return p, jw.end(p.rmdirs, p.dirs)
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

// storeRelease stores the release's document in the state folder: a
// DocumentFile is fsynced and moved there, a Document written.
func (in *Installer) storeRelease(rel Release) error {
	if err := mkdirAll(in.FS, in.manifests()); err != nil {
		return err
	}
	if rel.DocumentFile == "" {
		return writeAtomic(in.FS, in.manifestDoc(rel.Digest), rel.Document)
	}
	if err := syncFile(in.FS, rel.DocumentFile); err != nil {
		return err
	}
	if err := in.FS.Rename(rel.DocumentFile, in.manifestDoc(rel.Digest)); err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	return syncDir(in.FS, in.manifests())
}

func (in *Installer) storeDocument(d manifest.Digest, doc []byte) error {
	if err := mkdirAll(in.FS, in.manifests()); err != nil {
		return err
	}
	return writeAtomic(in.FS, in.manifestDoc(d), doc)
}

// stageAll fetches every needed content into the stage folder, verified. It
// reads the operations back from the journal being written, and each file's
// entry from the manifests, which list them in the same order.
func (in *Installer) stageAll(ctx context.Context, p *plan, oldRec *Record, newDoc manifest.Digest, fetch Fetcher, opt Options) error {
	if err := mkdirAll(in.FS, filepath.Join(in.txn(), "stage")); err != nil {
		return err
	}
	newM, err := in.openManifest(newDoc)
	if err != nil {
		return err
	}
	defer newM.Close()
	var oldM *manifestFiles
	if oldRec != nil {
		if oldM, err = in.openManifest(oldRec.Manifest); errors.Is(err, fs.ErrNotExist) {
			oldM, err = nil, nil
		}
		if err != nil {
			return err
		}
		if oldM != nil {
			defer oldM.Close()
		}
	}
	nc, oc := &cursor{m: newM}, &cursor{m: oldM}
	var done int64
	staged := 0
	err = in.eachOp(in.journalPath()+".tmp", func(o op) error {
		if o.Kind != opAdd && o.Kind != opReplace {
			return nil
		}
		f, ok, err := nc.seek(o.Path)
		if err == nil && !ok {
			err = fmt.Errorf("%w: %q is not in the new manifest", ErrState, o.Path)
		}
		if err != nil {
			return err
		}
		old, base, err := in.deltaBase(o, p, oc)
		if err == nil {
			err = in.stageOne(ctx, o, &f, old, base, fetch)
		}
		if err != nil {
			return fmt.Errorf("stage %s: %w", o.Path, err)
		}
		done += f.Size
		staged++
		if opt.Progress != nil {
			opt.Progress(staged, p.files, done, p.bytes)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return syncDir(in.FS, filepath.Join(in.txn(), "stage"))
}

// deltaBase returns what a delta for o may start from: for a replace, the
// file on disk if the installed manifest (oc) says what it is; for an add,
// the related file the plan found.
func (in *Installer) deltaBase(o op, p *plan, oc *cursor) (*Old, string, error) {
	if o.Kind == opAdd {
		if r, ok := p.related[o.N]; ok {
			old := r.old
			return &old, r.base, nil
		}
		return nil, "", nil
	}
	of, ok, err := oc.seek(o.Path)
	if err != nil || !ok {
		return nil, "", err
	}
	fi, err := in.FS.Lstat(under(in.Target, o.Path))
	if err != nil {
		return nil, "", nil
	}
	return oldContent(&of, fi), "", nil
}

func (r *Result) count(k opKind) {
	switch k {
	case opRmdir:
		r.rmdirs++
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

// stageOne streams one file's content into its stage file and fsyncs it;
// a delta starts from old, read at o.Path or at base.
func (in *Installer) stageOne(ctx context.Context, o op, f *manifest.File, old *Old, base string, fetch Fetcher) error {
	if old != nil {
		src := o.Path
		if base != "" {
			src = base
		}
		r, err := in.FS.Open(under(in.Target, src))
		if err != nil {
			return err
		}
		defer r.Close()
		old.Data = r
	}
	return in.receive(ctx, in.stage(o.N), f, old, fetch)
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
	err := j.each(func(o op) error {
		if o.Kind == opReplace || o.Kind == opDelete {
			if err := in.FS.Link(under(in.Target, o.Path), in.backup(o.N)); err != nil {
				return fmt.Errorf("back up %s: %w", o.Path, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := syncDir(in.FS, backup); err != nil {
		return err
	}
	err = j.each(func(o op) error { // deletions, then the folders they emptied, deepest first
		if o.Kind == opDelete || o.Kind == opRmdir {
			if err := in.FS.Remove(under(in.Target, o.Path)); err != nil {
				return fmt.Errorf("%s %s: %w", o.Kind, o.Path, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range j.Dirs {
		if err := in.FS.Mkdir(under(in.Target, d), 0o755); err != nil {
			return fmt.Errorf("create folder %s: %w", d, err)
		}
	}
	if err := j.each(in.apply); err != nil {
		return err
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
	err := j.each(func(o op) error {
		set[parentOf(o.Path)] = true
		if o.Kind == opRmdir {
			set[o.Path] = true // an undo makes it again
		}
		return nil
	})
	if err != nil {
		return err
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
