package install

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// slotBuild makes one slot folder hold a release.
type slotBuild struct {
	in      *Installer
	dir     string          // the slot being built
	from    string          // the active slot ("" on a fresh install)
	dirs    map[string]bool // folders made in dir ("" is dir itself)
	managed map[string]bool // paths of the old or new release that are managed
	files   map[string]bool // managed files of the new release
	oldM    *manifest.Manifest
}

// buildSlot makes slot hold release newM: the slot is emptied; each file
// the active slot holds with the same content and mode is hard-linked, the
// others are fetched (verified while written) or copied (same content, new
// mode: a shared inode is never changed); files and folders of the device's
// own (no release manages them) are carried over, linked. Then every file
// and folder is fsynced and the slot checked against the manifest.
func (in *Installer) buildSlot(ctx context.Context, slot, active string, oldM, newM *manifest.Manifest, fetch Fetcher, opt Options, res *Result) error {
	b := &slotBuild{in: in, dir: in.slotDir(slot), dirs: map[string]bool{}, managed: map[string]bool{}, files: map[string]bool{}, oldM: oldM}
	perm := fs.FileMode(0o755)
	if active != "" {
		b.from = in.slotDir(active)
		if fi, err := in.FS.Stat(b.from); err == nil {
			perm = fi.Mode().Perm()
		}
	}
	if err := removeTree(in.FS, b.dir); err != nil {
		return fmt.Errorf("empty the slot: %w", err)
	}
	if err := in.FS.Mkdir(b.dir, perm); err != nil {
		return err
	}
	b.dirs[""] = true
	b.index(oldM, newM, res)
	if err := b.releaseFiles(ctx, newM, fetch, opt, res); err != nil {
		return err
	}
	if b.from != "" {
		if err := b.carry(""); err != nil {
			return err
		}
	}
	if err := b.sync(); err != nil {
		return err
	}
	return b.verify(newM)
}

// index notes the managed paths, and counts the files the release drops.
func (b *slotBuild) index(oldM, newM *manifest.Manifest, res *Result) {
	for _, f := range newM.Files {
		if b.in.allowed(f.Path) {
			b.managed[f.Path], b.files[f.Path] = true, true
		}
	}
	if oldM == nil {
		return
	}
	for _, f := range oldM.Files {
		if b.in.allowed(f.Path) {
			b.managed[f.Path] = true
			if !b.files[f.Path] {
				res.Deleted++
			}
		}
	}
}

func (b *slotBuild) releaseFiles(ctx context.Context, newM *manifest.Manifest, fetch Fetcher, opt Options, res *Result) error {
	var total, done int64
	for _, f := range newM.Files {
		if b.files[f.Path] {
			total += f.Size
		}
	}
	n := 0
	for i := range newM.Files {
		f := &newM.Files[i]
		if !b.files[f.Path] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.file(ctx, f, fetch, res); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		n++
		done += f.Size
		if opt.Progress != nil {
			opt.Progress(n, len(b.files), done, total)
		}
	}
	return nil
}

// file puts one file of the release into the slot.
func (b *slotBuild) file(ctx context.Context, f *manifest.File, fetch Fetcher, res *Result) error {
	if err := b.mkdirs(f.Path); err != nil {
		return err
	}
	dst := under(b.dir, f.Path)
	src, fi := b.source(f.Path)
	if src != "" && fi.Size() == f.Size {
		same, err := b.in.sameContent(src, *f)
		if err != nil {
			return err
		}
		if same && fi.Mode().Perm() == f.Mode.Perm() {
			return b.in.FS.Link(src, dst)
		}
		if same {
			res.Chmods++
			return b.in.receive(ctx, dst, f, nil, localFile{b.in, src})
		}
	}
	if src == "" {
		res.Added++
	} else {
		res.Replaced++
	}
	res.Bytes += f.Size
	var old *Old
	if src != "" {
		if old = oldContent(lookup(b.oldM, f.Path), fi); old != nil {
			r, err := b.in.FS.Open(src)
			if err != nil {
				return err
			}
			defer r.Close()
			old.Data = r
		}
	}
	return b.in.receive(ctx, dst, f, old, fetch)
}

// source returns the regular file at p in the active slot, if there is one.
func (b *slotBuild) source(p string) (string, fs.FileInfo) {
	if b.from == "" {
		return "", nil
	}
	src := under(b.from, p)
	fi, err := b.in.FS.Lstat(src)
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil
	}
	return src, fi
}

// mkdirs makes the folders above p in the slot, with the modes they have
// in the active slot (0755 for new ones).
func (b *slotBuild) mkdirs(p string) error {
	for _, d := range parents(p) {
		if b.dirs[d] {
			continue
		}
		if b.files[d] {
			return fmt.Errorf("%w: %q is a file of the release and a folder of %q", ErrConflict, d, p)
		}
		perm := fs.FileMode(0o755)
		if b.from != "" {
			if fi, err := b.in.FS.Lstat(under(b.from, d)); err == nil && fi.IsDir() {
				perm = fi.Mode().Perm()
			}
		}
		if err := b.in.FS.Mkdir(under(b.dir, d), perm); err != nil {
			return fmt.Errorf("create folder %s: %w", d, err)
		}
		b.dirs[d] = true
	}
	return nil
}

// blocked reports whether p, or a folder above it, is a file of the release.
func (b *slotBuild) blocked(p string) bool {
	if b.files[p] {
		return true
	}
	for _, d := range parents(p) {
		if b.files[d] {
			return true
		}
	}
	return false
}

// carry links into the slot what the active slot holds under folder rel
// that no release manages: files, links and empty folders of the device's
// own. An empty folder in the way of a release file is dropped (as in
// place); anything else in the way stops the install with ErrConflict.
func (b *slotBuild) carry(rel string) error {
	es, err := b.in.FS.ReadDir(under(b.from, rel))
	if err != nil {
		return fmt.Errorf("list %s: %w", under(b.from, rel), err)
	}
	if len(es) == 0 && rel != "" && !b.blocked(rel) && !b.dirs[rel] {
		return b.mkdirs(rel + "/")
	}
	for _, e := range es {
		p := path.Join(rel, e.Name())
		if err := b.carryOne(p, e); err != nil {
			return err
		}
	}
	return nil
}

func (b *slotBuild) carryOne(p string, e fs.DirEntry) error {
	src := under(b.from, p)
	switch {
	case e.IsDir():
		return b.carry(p)
	case b.managed[p]:
		return nil
	case b.blocked(p):
		return fmt.Errorf("%w: %q is not managed by the release and is in the way of one of its files: move it away", ErrConflict, p)
	}
	if err := b.mkdirs(p); err != nil {
		return err
	}
	dst := under(b.dir, p)
	switch {
	case e.Type().IsRegular():
		return b.in.FS.Link(src, dst)
	case e.Type()&fs.ModeSymlink != 0:
		dest, err := b.in.FS.Readlink(src)
		if err != nil {
			return err
		}
		return b.in.FS.Symlink(dest, dst)
	}
	b.in.log().Warn("not carried over to the new slot: not a file, folder or link", "path", p)
	return nil
}

// sync fsyncs every folder of the slot, deepest first, then the folder
// holding the slot.
func (b *slotBuild) sync() error {
	dirs := make([]string, 0, len(b.dirs))
	for d := range b.dirs {
		dirs = append(dirs, d)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if err := syncDir(b.in.FS, under(b.dir, d)); err != nil {
			return err
		}
	}
	return syncDir(b.in.FS, filepath.Dir(b.dir))
}

// verify checks that every file of the release is in the slot as a regular
// file of its size and mode (contents were verified as they were written,
// or hashed before they were linked).
func (b *slotBuild) verify(m *manifest.Manifest) error {
	for _, f := range m.Files {
		if !b.files[f.Path] {
			continue
		}
		fi, err := b.in.FS.Lstat(under(b.dir, f.Path))
		switch {
		case err != nil:
			return fmt.Errorf("verify %s: %w", f.Path, err)
		case !fi.Mode().IsRegular() || fi.Size() != f.Size || fi.Mode().Perm() != f.Mode.Perm():
			return fmt.Errorf("%w: verify %s: %v, %d bytes in the slot; the manifest says %v, %d bytes", ErrChecksum, f.Path, fi.Mode(), fi.Size(), f.Mode, f.Size)
		}
	}
	return nil
}

// localFile is a Fetcher that copies a file already on the device.
type localFile struct {
	in   *Installer
	path string
}

func (l localFile) Fetch(ctx context.Context, f manifest.File, old *Old, out Sink) error {
	r, err := l.in.FS.Open(l.path)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := out()
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(w, r, l.in.buffer()); err != nil {
		return fmt.Errorf("copy %s: %w", l.path, err)
	}
	return nil
}

// lookup returns m's entry at p, or nil (also when m is nil).
func lookup(m *manifest.Manifest, p string) *manifest.File {
	if m == nil {
		return nil
	}
	f, ok := m.Lookup(p)
	if !ok {
		return nil
	}
	return &f
}
