package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"

	"github.com/ferry-ota/ferry/internal/manifest"
)

type opKind string

const (
	opAdd     opKind = "add"
	opReplace opKind = "replace"
	opDelete  opKind = "delete"
	opChmod   opKind = "chmod"
	// opRmdir removes a folder of the installed release that the new
	// release needs as a file, once its files are deleted; OldMode is the
	// folder's mode, which undoing it restores.
	opRmdir opKind = "rmdir"
)

// op is one step of a transaction, as the journal records it.
type op struct {
	Kind    opKind      `json:"op"`
	Path    string      `json:"path"`
	N       int         `json:"n"`
	Mode    fs.FileMode `json:"mode,omitempty"`
	OldMode fs.FileMode `json:"old_mode,omitempty"`

	file *manifest.File // add, replace: the entry of the new manifest
	old  *Old           // a delta base: the old content at Path, or at base
	base string         // add: the related file of the installed release the delta base is read from
}

// maxRelated bounds the new paths per plan that look for a related delta
// base (each look-up scans the installed manifest); the rest fetch blobs.
const maxRelated = 1000

// plan is the set of operations that turns the target into the new release.
type plan struct {
	ops    []op
	dirs   []string // folders to create, shallowest first
	rmdirs []op     // folders to remove, deepest first
}

// makePlan compares the new manifest with the disk. oldM (may be nil) says
// which paths the installed release manages, so only those are deleted. The
// deletions are found first: a file of the installed release may give way to
// a folder of the new one, and a folder holding only such files to a file.
func (in *Installer) makePlan(ctx context.Context, oldM, newM *manifest.Manifest) (*plan, error) {
	p := &plan{}
	in.relatedLeft = maxRelated
	deletes, err := in.planDeletes(ctx, oldM, newM)
	if err != nil {
		return nil, err
	}
	gone := make(map[string]bool, len(deletes))
	for _, d := range deletes {
		gone[d.Path] = true
	}
	newDirs := map[string]bool{}
	for i := range newM.Files {
		f := &newM.Files[i]
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !in.allowed(f.Path) {
			continue
		}
		if err := in.planDirs(f.Path, gone, newDirs, p); err != nil {
			return nil, err
		}
		o, err := in.planFile(f, oldM, gone, p)
		if err != nil {
			return nil, err
		}
		if o != nil {
			p.add(*o)
		}
	}
	for _, o := range append(deletes, p.rmdirs...) {
		p.add(o)
	}
	return p, nil
}

// add appends o to the plan's operations, numbering it.
func (p *plan) add(o op) {
	o.N = len(p.ops)
	p.ops = append(p.ops, o)
}

// planDeletes lists the files of the installed release that the new one
// lacks and that are on disk.
func (in *Installer) planDeletes(ctx context.Context, oldM, newM *manifest.Manifest) ([]op, error) {
	if oldM == nil {
		return nil, nil
	}
	var out []op
	for _, f := range oldM.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, keep := newM.Lookup(f.Path); keep || !in.allowed(f.Path) {
			continue
		}
		if err := in.checkParents(f.Path); err != nil {
			return nil, err
		}
		fi, err := in.FS.Lstat(under(in.Target, f.Path))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("%w: %q was a file of the installed release and is now a folder: move it away", ErrConflict, f.Path)
		}
		out = append(out, op{Kind: opDelete, Path: f.Path, OldMode: fi.Mode().Perm()})
	}
	return out, nil
}

// planDirs notes the missing parent folders of path p, and refuses a parent
// that is a symlink (it could lead outside the target) or a file, unless
// that file is one the plan deletes (gone): then the folder takes its place.
func (in *Installer) planDirs(p string, gone, seen map[string]bool, pl *plan) error {
	missing := false
	for _, d := range parents(p) {
		if seen[d] {
			continue
		}
		seen[d] = true
		if missing {
			pl.dirs = append(pl.dirs, d)
			continue
		}
		fi, err := in.FS.Lstat(under(in.Target, d))
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR): // ENOTDIR: below a file that gives way
			missing = true
			pl.dirs = append(pl.dirs, d)
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return symlinkFolder(d, p)
		case !fi.IsDir() && gone[d]:
			missing = true
			pl.dirs = append(pl.dirs, d)
		case !fi.IsDir():
			return fmt.Errorf("%w: %q is a file in the target, but the release needs it as a folder for %q: move it away", ErrConflict, d, p)
		}
	}
	return nil
}

// symlinkFolder is the refusal of a path whose folder d is a symlink.
func symlinkFolder(d, p string) error {
	return fmt.Errorf("%w: folder %q of %q is a symlink in the target; it could point outside: replace it with a real folder", ErrUnsafePath, d, p)
}

// checkParents refuses a path whose existing parent folders include a symlink.
func (in *Installer) checkParents(p string) error {
	for _, d := range parents(p) {
		fi, err := in.FS.Lstat(under(in.Target, d))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return symlinkFolder(d, p)
		}
	}
	return nil
}

// planFile decides what, if anything, to do for one file of the new release.
// A folder in its place is removed first (planRmdirs) if it holds only files
// the plan deletes.
func (in *Installer) planFile(f *manifest.File, oldM *manifest.Manifest, gone map[string]bool, pl *plan) (*op, error) {
	path := under(in.Target, f.Path)
	fi, err := in.FS.Lstat(path)
	if err == nil && fi.IsDir() {
		err = in.planRmdirs(f.Path, fi.Mode().Perm(), gone, pl)
		if err != nil {
			return nil, err
		}
		err = fs.ErrNotExist
	}
	// ENOTDIR: a parent is a file that gives way to a folder (planDirs).
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		o := &op{Kind: opAdd, Path: f.Path, Mode: f.Mode, file: f}
		o.base, o.old = in.relatedBase(f.Path, oldM)
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	replace := &op{Kind: opReplace, Path: f.Path, Mode: f.Mode, OldMode: fi.Mode().Perm(), file: f}
	if !fi.Mode().IsRegular() || fi.Size() != f.Size {
		replace.old = in.oldContent(f.Path, oldM, fi)
		return replace, nil
	}
	same, err := in.sameContent(path, *f)
	if err != nil {
		return nil, err
	}
	switch {
	case !same:
		replace.old = in.oldContent(f.Path, oldM, fi)
		return replace, nil
	case fi.Mode().Perm() != f.Mode:
		return &op{Kind: opChmod, Path: f.Path, Mode: f.Mode, OldMode: fi.Mode().Perm()}, nil
	}
	return nil, nil
}

// planRmdirs plans the removal of the folder p (mode perm), which the new
// release needs as a file, and of its subfolders, deepest first. It refuses
// unless the installed release managed the folder (it holds at least one of
// the deleted files) and everything in it is a deleted file or a folder
// holding nothing else (empty ones too): no file of the device's own is ever
// removed.
func (in *Installer) planRmdirs(p string, perm fs.FileMode, gone map[string]bool, pl *plan) error {
	managed := false
	var walk func(d string, perm fs.FileMode) error
	walk = func(d string, perm fs.FileMode) error {
		es, err := in.FS.ReadDir(under(in.Target, d))
		if err != nil {
			return err
		}
		for _, e := range es {
			c := d + "/" + e.Name()
			switch {
			case gone[c]:
				managed = true
			case e.IsDir():
				fi, err := e.Info()
				if err != nil {
					return err
				}
				if err := walk(c, fi.Mode().Perm()); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%w: %q is a folder in the target, but the release has a file there, and %q in it is not a file of the installed release: move it away", ErrConflict, p, c)
			}
		}
		pl.rmdirs = append(pl.rmdirs, op{Kind: opRmdir, Path: d, OldMode: perm})
		return nil
	}
	if err := walk(p, perm); err != nil {
		return err
	}
	if !managed {
		return fmt.Errorf("%w: %q is a folder in the target, but the release has a file there: move it away", ErrConflict, p)
	}
	return nil
}

// relatedBase names, for a path the installed release lacks, the file of the
// installed release a patch may start from (manifest.RelatedBase: the
// publisher applies the same rule), if it is on disk with its size.
func (in *Installer) relatedBase(p string, oldM *manifest.Manifest) (string, *Old) {
	if oldM == nil || in.relatedLeft <= 0 {
		return "", nil
	}
	in.relatedLeft-- // each look-up scans the old manifest: bounded per plan
	of, ok := oldM.RelatedBase(p)
	if !ok || of.SHA256 == (manifest.Digest{}) {
		return "", nil
	}
	fi, err := in.FS.Lstat(under(in.Target, of.Path))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != of.Size {
		return "", nil
	}
	return of.Path, &Old{SHA256: of.SHA256, Size: of.Size}
}

// oldContent describes the file on disk as a delta base, when the installed
// manifest says what it should be.
func (in *Installer) oldContent(p string, oldM *manifest.Manifest, fi fs.FileInfo) *Old {
	if oldM == nil || !fi.Mode().IsRegular() {
		return nil
	}
	of, ok := oldM.Lookup(p)
	if !ok || of.Size != fi.Size() || of.SHA256 == (manifest.Digest{}) {
		return nil
	}
	return &Old{SHA256: of.SHA256, Size: of.Size}
}

// sameContent hashes the file at path and compares it with f.
func (in *Installer) sameContent(path string, f manifest.File) (bool, error) {
	r, err := in.FS.Open(path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	defer r.Close()
	h, want := f.NewHash()
	if _, err := io.CopyBuffer(h, io.LimitReader(r, f.Size+1), in.buffer()); err != nil {
		return false, fmt.Errorf("hash %s: %w", path, err)
	}
	return bytes.Equal(h.Sum(nil), want), nil
}
