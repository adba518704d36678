package vfs

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// maxSymlinks is how many symbolic links one lookup follows before ELOOP
// (Linux allows 40; Ferry's own paths need one).
const maxSymlinks = 8

func (n *inode) isSymlink() bool { return n.cur.mode&fs.ModeSymlink != 0 }

// linkTarget returns the absolute path link c, found in the folder whose
// components are dir, points at.
func linkTarget(dir []string, c *inode) string {
	t := string(c.cur.data)
	if strings.HasPrefix(t, "/") {
		return path.Clean(t)
	}
	return path.Join("/"+strings.Join(dir, "/"), t)
}

// followed returns the inode of name, following a final symbolic link.
func (m *MemFS) followed(name string) (*inode, error) {
	for range maxSymlinks {
		n, err := m.existing(name)
		if err != nil || !n.isSymlink() {
			return n, err
		}
		parts, _ := split(path.Dir(path.Clean(name)))
		name = linkTarget(parts, n)
	}
	return nil, syscall.ELOOP
}

// Symlink implements FS. The link and its content appear together: a crash
// keeps the new directory entry (until its folder is synced, maybe not)
// with its whole content, never a torn one.
func (m *MemFS) Symlink(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin(OpSymlink, oldname, newname); err != nil {
		return &os.LinkError{Op: "symlink", Old: oldname, New: newname, Err: err}
	}
	dir, base, n, err := m.lookup(newname)
	switch {
	case err != nil:
	case n != nil:
		err = syscall.EEXIST
	case oldname == "":
		err = syscall.ENOENT
	}
	if err != nil {
		return &os.LinkError{Op: "symlink", Old: oldname, New: newname, Err: err}
	}
	l := newInode(fs.ModeSymlink|0o777, int64(m.seq))
	l.set(state{mode: l.cur.mode, mtime: l.cur.mtime, data: []byte(oldname)})
	m.change(dir, record{kind: recSet, name: base, child: l})
	return nil
}

// Readlink implements FS.
func (m *MemFS) Readlink(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.alive(); err != nil {
		return "", pathErr("readlink", name, err)
	}
	n, err := m.existing(name)
	switch {
	case err != nil:
		return "", pathErr("readlink", name, err)
	case !n.isSymlink():
		return "", pathErr("readlink", name, syscall.EINVAL)
	}
	return string(n.cur.data), nil
}
