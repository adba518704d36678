package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/ferry-ota/ferry/internal/manifest"
)

type opKind string

const (
	opAdd     opKind = "add"
	opReplace opKind = "replace"
	opDelete  opKind = "delete"
	opChmod   opKind = "chmod"
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
	ops  []op
	dirs []string // folders to create, shallowest first
}

// makePlan compares the new manifest with the disk. oldM (may be nil) says
// which paths the installed release manages, so only those are deleted.
func (in *Installer) makePlan(ctx context.Context, oldM, newM *manifest.Manifest) (*plan, error) {
	p := &plan{}
	in.relatedLeft = maxRelated
	newDirs := map[string]bool{}
	for i := range newM.Files {
		f := &newM.Files[i]
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !in.allowed(f.Path) {
			continue
		}
		if err := in.planDirs(f.Path, newDirs, p); err != nil {
			return nil, err
		}
		o, err := in.planFile(f, oldM)
		if err != nil {
			return nil, err
		}
		if o != nil {
			o.N = len(p.ops)
			p.ops = append(p.ops, *o)
		}
	}
	if oldM == nil {
		return p, nil
	}
	for _, f := range oldM.Files {
		if _, keep := newM.Lookup(f.Path); keep || !in.allowed(f.Path) {
			continue
		}
		if err := in.checkParents(f.Path); err != nil {
			return nil, err
		}
		fi, err := in.FS.Lstat(under(in.Target, f.Path))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("%w: %q was a file of the installed release and is now a folder: move it away", ErrConflict, f.Path)
		}
		p.ops = append(p.ops, op{Kind: opDelete, Path: f.Path, N: len(p.ops), OldMode: fi.Mode().Perm()})
	}
	return p, nil
}

// planDirs notes the missing parent folders of path p, and refuses a parent
// that is a symlink (it could lead outside the target) or a file.
func (in *Installer) planDirs(p string, seen map[string]bool, pl *plan) error {
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
		case errors.Is(err, fs.ErrNotExist):
			missing = true
			pl.dirs = append(pl.dirs, d)
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return symlinkFolder(d, p)
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
func (in *Installer) planFile(f *manifest.File, oldM *manifest.Manifest) (*op, error) {
	path := under(in.Target, f.Path)
	fi, err := in.FS.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		o := &op{Kind: opAdd, Path: f.Path, Mode: f.Mode, file: f}
		o.base, o.old = in.relatedBase(f.Path, oldM)
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%w: %q is a folder in the target, but the release has a file there: move it away", ErrConflict, f.Path)
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
