package vfs

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemFS is an in-memory FS that models what a power cut does to a disk.
//
// # Crash model
//
// Every inode (file or directory) has a current state, which calls see, and
// a durable state, which survives a power cut. A file's state is its data,
// permission bits and modification time; File.Sync copies current to
// durable. A directory's state is its entries (name → inode), permission
// bits and modification time; SyncDir copies current to durable for that
// one directory, not its parent and not its children. Create, OpenAppend,
// Mkdir, Remove, Rename and Link change current entries only, so a new
// file is lost in a crash unless its directory was synced, and a file whose
// name survived but whose data was never synced comes back empty.
//
// Crash reboots: the visible tree becomes what survived, chosen by a
// CrashMode. DropUnsynced keeps only durable states, KeepAll keeps
// everything (as if the disk flushed all), and KeepRandom keeps a random
// but consistent part of what was not synced; see CrashMode.
//
// A rename between two directories changes both. Under DropUnsynced, if
// only the target directory was synced the file survives under both names
// (like a hard link), and if only the source directory was synced it is
// lost: sync the target directory first, then the source. A directory is
// never kept under two names: Crash keeps the first one it meets walking
// the tree breadth-first in name order.
//
// # Faults
//
// Each mutating call (see OpKind) is counted. SetPowerCutAt stops the
// machine at one of them, SetErrorAt fails one with an error such as
// ENOSPC while the power stays on, and SetHook sees (and may fail) each.
//
// # Semantics
//
// Names are absolute slash paths ("/t/a.txt"), cleaned with path.Clean; a
// relative name fails with fs.ErrInvalid. Errors are *fs.PathError (and
// *os.LinkError for Rename and Link, as package os returns) wrapping the
// syscall.Errno Linux would give, so errors.Is(err, fs.ErrNotExist) and
// errors.Is(err, syscall.ENOTEMPTY) work as with OS. Rename follows
// os.Rename: it replaces an existing file atomically, is a no-op when both
// names are links to one inode, fails with EEXIST onto an existing
// directory and with EINVAL into its own subtree. Symbolic links (Symlink,
// Readlink) are followed in the folders of a path and by Open, Stat and
// ReadDir (not by Lstat, Remove, Rename, Link, Create or Mkdir); a link's
// target is part of its inode, durable as soon as the link is created, so a
// crash keeps a link whole or not at all, like its directory entry. Modification times come from a logical clock that ticks
// once per mutating operation and never goes back, even across Crash.
// Permission bits are stored as given (no umask).
//
// A MemFS is safe for concurrent use; a hook set by SetHook runs with it
// locked.
type MemFS struct {
	mu    sync.Mutex
	root  *inode
	seq   uint64 // number of the latest change; ticks once per operation
	boot  uint64 // seq at the last Crash
	gen   int    // boot number: Files of an earlier boot are dead
	ops   int
	cutAt int
	cut   bool
	errAt map[int]error
	hook  func(Op) error
}

var _ FS = (*MemFS)(nil)

// epoch is the modification time of clock tick 0.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// NewMemFS returns an empty MemFS whose root directory "/" exists and is
// durable.
func NewMemFS() *MemFS {
	return &MemFS{root: newInode(fs.ModeDir|0o755, 0)}
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// split cleans name and returns its components; none for the root.
func split(name string) ([]string, error) {
	if !strings.HasPrefix(name, "/") {
		return nil, fs.ErrInvalid
	}
	c := path.Clean(name)
	if c == "/" {
		return nil, nil
	}
	return strings.Split(c[1:], "/"), nil
}

// lookup returns the directory holding name, name's last component, and
// its inode (nil if there is none). For the root, dir is nil.
// Symbolic links among the folders above it are followed.
func (m *MemFS) lookup(name string) (dir *inode, base string, n *inode, err error) {
	return m.lookupDepth(name, 0)
}

func (m *MemFS) lookupDepth(name string, depth int) (dir *inode, base string, n *inode, err error) {
	parts, err := split(name)
	if err != nil {
		return nil, "", nil, err
	}
	if len(parts) == 0 {
		return nil, "/", m.root, nil
	}
	dir = m.root
	for i, p := range parts[:len(parts)-1] {
		c := dir.cur.entries[p]
		if c != nil && c.isSymlink() {
			if depth >= maxSymlinks {
				return nil, "", nil, syscall.ELOOP
			}
			rest := linkTarget(parts[:i], c) + "/" + strings.Join(parts[i+1:], "/")
			return m.lookupDepth(rest, depth+1)
		}
		if c == nil {
			return nil, "", nil, syscall.ENOENT
		}
		if !c.isDir() {
			return nil, "", nil, syscall.ENOTDIR
		}
		dir = c
	}
	base = parts[len(parts)-1]
	return dir, base, dir.cur.entries[base], nil
}

// existing returns the inode of name, which must exist.
func (m *MemFS) existing(name string) (*inode, error) {
	_, _, n, err := m.lookup(name)
	if err == nil && n == nil {
		err = syscall.ENOENT
	}
	return n, err
}

// change applies r to n's current state and logs it. All changes of one
// operation share its sequence number and clock tick.
func (m *MemFS) change(n *inode, r record) {
	r.seq, r.mtime = m.seq, int64(m.seq)
	n.write(r)
}

// Open implements FS. A directory can be opened, for Stat and Sync only.
func (m *MemFS) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive(); err != nil {
		return nil, pathErr("open", name, err)
	}
	n, err := m.followed(name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &memFile{m: m, n: n, name: name, gen: m.gen}, nil
}

// Create implements FS.
func (m *MemFS) Create(name string, perm fs.FileMode) (File, error) {
	return m.openWrite(OpCreate, name, perm)
}

// OpenAppend implements FS.
func (m *MemFS) OpenAppend(name string, perm fs.FileMode) (File, error) {
	return m.openWrite(OpOpenAppend, name, perm)
}

func (m *MemFS) openWrite(kind OpKind, name string, perm fs.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(kind, name, ""); err != nil {
		return nil, pathErr("open", name, err)
	}
	dir, base, n, err := m.lookup(name)
	switch {
	case err != nil:
		return nil, pathErr("open", name, err)
	case n != nil && n.isDir():
		return nil, pathErr("open", name, syscall.EISDIR)
	case n == nil:
		n = newInode(perm.Perm(), int64(m.seq))
		m.change(dir, record{kind: recSet, name: base, child: n})
	case kind == OpCreate:
		m.change(n, record{kind: recTrunc})
	}
	f := &memFile{m: m, n: n, name: name, gen: m.gen, write: true}
	f.append = kind == OpOpenAppend
	return f, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive(); err != nil {
		return nil, pathErr("stat", name, err)
	}
	n, err := m.followed(name)
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return n.info(path.Base(name)), nil
}

// Lstat implements FS: a final symbolic link is not followed.
func (m *MemFS) Lstat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive(); err != nil {
		return nil, pathErr("lstat", name, err)
	}
	n, err := m.existing(name)
	if err != nil {
		return nil, pathErr("lstat", name, err)
	}
	return n.info(path.Base(name)), nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(name string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive(); err != nil {
		return nil, pathErr("readdir", name, err)
	}
	n, err := m.followed(name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	if !n.isDir() {
		return nil, pathErr("readdirent", name, syscall.ENOTDIR)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range n.cur.entries {
			if !yield(k) {
				return
			}
		}
	})
	es := make([]fs.DirEntry, len(names))
	for i, k := range names {
		es[i] = fs.FileInfoToDirEntry(n.cur.entries[k].info(k))
	}
	return es, nil
}

// Mkdir implements FS.
func (m *MemFS) Mkdir(name string, perm fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpMkdir, name, ""); err != nil {
		return pathErr("mkdir", name, err)
	}
	dir, base, n, err := m.lookup(name)
	switch {
	case err != nil:
		return pathErr("mkdir", name, err)
	case n != nil:
		return pathErr("mkdir", name, syscall.EEXIST)
	}
	d := newInode(fs.ModeDir|perm.Perm(), int64(m.seq))
	m.change(dir, record{kind: recSet, name: base, child: d})
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpRemove, name, ""); err != nil {
		return pathErr("remove", name, err)
	}
	dir, base, n, err := m.lookup(name)
	switch {
	case err != nil:
		return pathErr("remove", name, err)
	case n == nil:
		return pathErr("remove", name, syscall.ENOENT)
	case dir == nil:
		return pathErr("remove", name, syscall.EBUSY)
	case n.isDir() && len(n.cur.entries) > 0:
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	m.change(dir, record{kind: recDel, name: base})
	return nil
}

// Chmod implements FS. The new bits are durable once the file is synced
// (a directory: once it is synced with SyncDir).
func (m *MemFS) Chmod(name string, mode fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpChmod, name, ""); err != nil {
		return pathErr("chmod", name, err)
	}
	n, err := m.existing(name)
	if err != nil {
		return pathErr("chmod", name, err)
	}
	m.change(n, record{kind: recChmod, mode: mode})
	return nil
}

// SyncDir implements FS. Like OS.SyncDir, given a file it syncs the file.
func (m *MemFS) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpSyncDir, name, ""); err != nil {
		return pathErr("fsync", name, err)
	}
	n, err := m.existing(name)
	if err != nil {
		return pathErr("open", name, err)
	}
	n.sync()
	return nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpRename, oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if err := m.rename(oldname, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}

func (m *MemFS) rename(oldname, newname string) error {
	od, ob, on, oerr := m.lookup(oldname)
	nd, nb, nn, nerr := m.lookup(newname)
	if nerr == nil && nn != nil && nn.isDir() { // os.Rename's own check
		if oerr == nil && on == nil {
			oerr = syscall.ENOENT
		}
		if oerr != nil {
			return oerr
		}
		if path.Clean(oldname) == path.Clean(newname) || on != nn {
			return syscall.EEXIST
		}
	}
	switch {
	case oerr != nil:
		return oerr
	case on == nil:
		return syscall.ENOENT
	case nerr != nil:
		return nerr
	case od == nil || nd == nil:
		return syscall.EBUSY
	case on == nn:
		return nil // two links to one inode: rename(2) does nothing
	case on.isDir() && nn != nil:
		return syscall.ENOTDIR
	case on.isDir() && m.onPath(newname, on):
		return syscall.EINVAL
	}
	m.change(od, record{kind: recDel, name: ob})
	m.change(nd, record{kind: recSet, name: nb, child: on})
	return nil
}

// onPath reports whether d is one of the directories above name.
func (m *MemFS) onPath(name string, d *inode) bool {
	parts, _ := split(name)
	n := m.root
	for _, p := range parts {
		if n == d {
			return true
		}
		if n = n.cur.entries[p]; n == nil {
			return false
		}
	}
	return false
}

// Link implements FS.
func (m *MemFS) Link(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpLink, oldname, newname); err != nil {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err}
	}
	if err := m.link(oldname, newname); err != nil {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err}
	}
	return nil
}

func (m *MemFS) link(oldname, newname string) error {
	on, err := m.existing(oldname)
	if err != nil {
		return err
	}
	nd, nb, nn, err := m.lookup(newname)
	switch {
	case err != nil:
		return err
	case nn != nil:
		return syscall.EEXIST
	case on.isDir():
		return syscall.EPERM
	}
	m.change(nd, record{kind: recSet, name: nb, child: on})
	return nil
}

// fileInfo is the fs.FileInfo of a MemFS inode.
type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime int64
}

func (n *inode) info(name string) fileInfo {
	return fileInfo{name: name, size: int64(len(n.cur.data)), mode: n.cur.mode, mtime: n.cur.mtime}
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return epoch.Add(time.Duration(fi.mtime) * time.Second) }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }
