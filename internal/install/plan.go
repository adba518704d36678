package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
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
}

// maxRelated bounds the new paths per plan that look for a related delta
// base; the rest fetch blobs.
const maxRelated = 1000

// related is the delta base of an added file: a related file of the
// installed release.
type related struct {
	base string
	old  Old
}

// plan is what planning found besides the operations, which went to the
// journal as they were planned.
type plan struct {
	dirs    []string        // folders to create, shallowest first
	rmdirs  []op            // folders to remove, deepest first
	related map[int]related // adds (by n) with a delta base
	files   int             // files to stage
	bytes   int64           // their bytes
	counts  Result          // operations by kind
}

// planner merges the installed manifest (old, may be nil) and the new one,
// both read line by line in path order, against the disk, and writes each
// operation to the journal as it is found. What it holds is bounded by the
// depth of paths and the folders that change, not by the number of files.
type planner struct {
	in      *Installer
	old     *manifestFiles
	oldDoc  manifest.Digest // to look ahead in the installed manifest (planRmdirs)
	jw      *journalWriter
	p       *plan
	prev    string   // the last new path whose folders were planned
	gone    []string // deleted paths that are prefixes of the merge's position
	pending []pendingRelated
	relLeft int
}

type pendingRelated struct {
	n   int
	rel *manifest.Related
}

// makePlan compares the new manifest with the disk, writing the operations
// to jw. old (may be nil) says which paths the installed release manages,
// so only those are deleted. A file of the installed release may give way
// to a folder of the new one, and a folder holding only such files to a
// file.
func (in *Installer) makePlan(ctx context.Context, old *manifestFiles, oldDoc manifest.Digest, newM *manifestFiles, jw *journalWriter) (*plan, error) {
	pl := &planner{in: in, old: old, oldDoc: oldDoc, jw: jw, p: &plan{related: map[int]related{}}, relLeft: maxRelated}
	haveOld := old != nil && old.Next()
	haveNew := newM.Next()
	for haveOld || haveNew {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		switch {
		case haveOld && (!haveNew || old.File().Path < newM.File().Path):
			err = pl.deleted(old.File())
			haveOld = old.Next()
		case haveOld && old.File().Path == newM.File().Path:
			of := old.File()
			err = pl.file(newM.File(), &of)
			haveOld, haveNew = old.Next(), newM.Next()
		default:
			err = pl.file(newM.File(), nil)
			haveNew = newM.Next()
		}
		if err != nil {
			return nil, err
		}
	}
	if old != nil {
		if err := old.Err(); err != nil {
			return nil, err
		}
	}
	if err := newM.Err(); err != nil {
		return nil, err
	}
	if err := pl.relatedBases(); err != nil {
		return nil, err
	}
	return pl.p, nil
}

// add writes o to the journal and counts it; f is the new release's entry
// (nil for a deletion).
func (pl *planner) add(o op, f *manifest.File) int {
	n := pl.jw.ops()
	pl.jw.add(o)
	pl.p.counts.count(o.Kind)
	if o.Kind == opAdd || o.Kind == opReplace { // content to stage
		pl.p.files++
		pl.p.bytes += f.Size
	}
	return n
}

// popGone drops the deleted paths that are not prefixes of p: in path
// order, the paths below a folder are contiguous.
func (pl *planner) popGone(p string) {
	for len(pl.gone) > 0 && !strings.HasPrefix(p, pl.gone[len(pl.gone)-1]) {
		pl.gone = pl.gone[:len(pl.gone)-1]
	}
}

// isGone reports whether the folder d of the path the merge is at is a file
// the plan deletes.
func (pl *planner) isGone(d string) bool {
	for _, g := range pl.gone {
		if g == d {
			return true
		}
	}
	return false
}

// deleted plans the deletion of f, a file of the installed release that the
// new one lacks, if it is on disk.
func (pl *planner) deleted(f manifest.File) error {
	pl.popGone(f.Path)
	in := pl.in
	if !in.allowed(f.Path) {
		return nil
	}
	if err := in.checkParents(f.Path); err != nil {
		return err
	}
	fi, err := in.FS.Lstat(under(in.Target, f.Path))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: %q was a file of the installed release and is now a folder: move it away", ErrConflict, f.Path)
	}
	pl.add(op{Kind: opDelete, Path: f.Path, OldMode: fi.Mode().Perm()}, nil)
	pl.gone = append(pl.gone, f.Path)
	return nil
}

// file plans what, if anything, to do for one file of the new release; old
// is the installed release's entry at its path, if any.
func (pl *planner) file(f manifest.File, old *manifest.File) error {
	pl.popGone(f.Path)
	if !pl.in.allowed(f.Path) {
		return nil
	}
	if err := pl.planDirs(f.Path); err != nil {
		return err
	}
	o, err := pl.planFile(f, old)
	if err != nil || o == nil {
		return err
	}
	n := pl.add(*o, &f)
	if o.Kind == opAdd && pl.old != nil && pl.relLeft > 0 {
		pl.relLeft--
		pl.pending = append(pl.pending, pendingRelated{n: n, rel: manifest.NewRelated(f.Path)})
	}
	return nil
}

// planDirs notes the missing parent folders of path p, and refuses a parent
// that is a symlink (it could lead outside the target) or a file, unless
// that file is one the plan deletes: then the folder takes its place. A
// folder of the previous path was planned already.
func (pl *planner) planDirs(p string) error {
	in := pl.in
	missing := false
	prev := pl.prev
	pl.prev = p
	for _, d := range parents(p) {
		if strings.HasPrefix(prev, d+"/") {
			continue
		}
		if missing {
			pl.p.dirs = append(pl.p.dirs, d)
			continue
		}
		fi, err := in.FS.Lstat(under(in.Target, d))
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR): // ENOTDIR: below a file that gives way
			missing = true
			pl.p.dirs = append(pl.p.dirs, d)
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return symlinkFolder(d, p)
		case !fi.IsDir() && pl.isGone(d):
			missing = true
			pl.p.dirs = append(pl.p.dirs, d)
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
func (pl *planner) planFile(f manifest.File, old *manifest.File) (*op, error) {
	in := pl.in
	path := under(in.Target, f.Path)
	fi, err := in.FS.Lstat(path)
	if err == nil && fi.IsDir() {
		if err = pl.planRmdirs(f.Path, fi.Mode().Perm()); err != nil {
			return nil, err
		}
		err = fs.ErrNotExist
	}
	// ENOTDIR: a parent is a file that gives way to a folder (planDirs).
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &op{Kind: opAdd, Path: f.Path, Mode: f.Mode}, nil
	}
	if err != nil {
		return nil, err
	}
	replace := &op{Kind: opReplace, Path: f.Path, Mode: f.Mode, OldMode: fi.Mode().Perm()}
	if !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return replace, nil
	}
	same, err := in.sameContent(path, f)
	switch {
	case err != nil:
		return nil, err
	case !same:
		return replace, nil
	case fi.Mode().Perm() != f.Mode:
		return &op{Kind: opChmod, Path: f.Path, Mode: f.Mode, OldMode: fi.Mode().Perm()}, nil
	}
	return nil, nil
}

// planRmdirs plans the removal of the folder p (mode perm), which the new
// release needs as a file, and of its subfolders, deepest first. It refuses
// unless the installed release managed the folder (it holds at least one
// file of the installed manifest, which the new one cannot list below a
// file of its own) and everything in it is such a file or a folder holding
// nothing else (empty ones too): no file of the device's own is ever
// removed. The files below p come after it in path order: the installed
// manifest is read once more to find them.
func (pl *planner) planRmdirs(p string, perm fs.FileMode) error {
	in := pl.in
	var files []string
	var rmdirs []op
	var walk func(d string, perm fs.FileMode) error
	walk = func(d string, perm fs.FileMode) error {
		es, err := in.FS.ReadDir(under(in.Target, d))
		if err != nil {
			return err
		}
		for _, e := range es {
			c := d + "/" + e.Name()
			if !e.IsDir() {
				files = append(files, c)
				continue
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if err := walk(c, fi.Mode().Perm()); err != nil {
				return err
			}
		}
		rmdirs = append(rmdirs, op{Kind: opRmdir, Path: d, OldMode: perm})
		return nil
	}
	if err := walk(p, perm); err != nil {
		return err
	}
	managed, err := pl.oldManages(files)
	if err != nil {
		return err
	}
	for _, c := range files {
		if !managed[c] {
			return fmt.Errorf("%w: %q is a folder in the target, but the release has a file there, and %q in it is not a file of the installed release: move it away", ErrConflict, p, c)
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: %q is a folder in the target, but the release has a file there: move it away", ErrConflict, p)
	}
	pl.p.rmdirs = append(pl.p.rmdirs, rmdirs...)
	return nil
}

// oldManages returns which of paths the installed manifest lists (and the
// installer manages), reading it from the start.
func (pl *planner) oldManages(paths []string) (map[string]bool, error) {
	out := map[string]bool{}
	if pl.old == nil || len(paths) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	m, err := pl.in.openManifest(pl.oldDoc)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	for m.Next() {
		if p := m.File().Path; want[p] && pl.in.allowed(p) {
			out[p] = true
		}
	}
	return out, m.Err()
}

// relatedBases finds, in one more read of the installed manifest, the delta
// base of each added path that looks for one (manifest.RelatedBase: the
// publisher applies the same rule), if it is on disk with its size.
func (pl *planner) relatedBases() error {
	if len(pl.pending) == 0 {
		return nil
	}
	byExt := map[string][]*manifest.Related{}
	for _, r := range pl.pending {
		ext := path.Ext(r.rel.Path())
		byExt[ext] = append(byExt[ext], r.rel)
	}
	m, err := pl.in.openManifest(pl.oldDoc)
	if err != nil {
		return err
	}
	defer m.Close()
	for m.Next() {
		f := m.File()
		for _, r := range byExt[path.Ext(f.Path)] {
			r.Consider(f)
		}
	}
	if err := m.Err(); err != nil {
		return err
	}
	for _, r := range pl.pending {
		of, ok := r.rel.Base()
		if !ok || of.SHA256 == (manifest.Digest{}) {
			continue
		}
		fi, err := pl.in.FS.Lstat(under(pl.in.Target, of.Path))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != of.Size {
			continue
		}
		pl.p.related[r.n] = related{base: of.Path, old: Old{SHA256: of.SHA256, Size: of.Size}}
	}
	pl.pending = nil
	return nil
}

// oldContent describes the file on disk as a delta base, when the installed
// manifest's entry of are the file (of may be nil) says what it should be.
func oldContent(of *manifest.File, fi fs.FileInfo) *Old {
	if of == nil || !fi.Mode().IsRegular() || of.Size != fi.Size() || of.SHA256 == (manifest.Digest{}) {
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
