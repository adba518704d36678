package vfs

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"syscall"
)

// memFile is an open MemFS file or directory.
type memFile struct {
	m      *MemFS
	n      *inode
	name   string
	gen    int   // the boot it was opened in
	write  bool  // opened by Create or OpenAppend
	append bool  // every write goes to the end
	off    int64 // offset of Read, Write and Seek
	closed bool
}

// live returns the error every call on f gets: ErrPowerCut after a power
// cut or if f was opened before the last Crash, fs.ErrClosed after Close.
// The caller holds f.m.mu.
func (f *memFile) live(op string) error {
	if f.m.cut || f.gen != f.m.gen {
		return pathErr(op, f.name, ErrPowerCut)
	}
	if f.closed {
		return pathErr(op, f.name, fs.ErrClosed)
	}
	return nil
}

// Read implements io.Reader.
func (f *memFile) Read(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.readAt("read", p, f.off)
	f.off += int64(n)
	return n, err
}

// ReadAt implements io.ReaderAt.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if off < 0 {
		return 0, pathErr("readat", f.name, syscall.EINVAL)
	}
	n, err := f.readAt("read", p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (f *memFile) readAt(op string, p []byte, off int64) (int, error) {
	if err := f.live(op); err != nil {
		return 0, err
	}
	if f.n.isDir() {
		return 0, pathErr(op, f.name, syscall.EISDIR)
	}
	if len(p) == 0 {
		return 0, nil
	}
	data := f.n.cur.data
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	return copy(p, data[off:]), nil
}

// Write implements io.Writer. Each call is one mutating operation.
func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live("write"); err != nil {
		return 0, err
	}
	if err := f.m.begin(OpWrite, f.name, ""); err != nil {
		return 0, pathErr("write", f.name, err)
	}
	if !f.write {
		return 0, pathErr("write", f.name, syscall.EBADF)
	}
	if f.append {
		f.off = int64(len(f.n.cur.data))
	}
	f.m.change(f.n, record{kind: recWrite, off: f.off, data: bytes.Clone(p)})
	f.off += int64(len(p))
	return len(p), nil
}

// Seek implements io.Seeker.
func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live("seek"); err != nil {
		return 0, err
	}
	switch whence {
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += int64(len(f.n.cur.data))
	case io.SeekStart:
	default:
		return 0, pathErr("seek", f.name, syscall.EINVAL)
	}
	if offset < 0 {
		return 0, pathErr("seek", f.name, syscall.EINVAL)
	}
	f.off = offset
	return offset, nil
}

// Stat implements File.
func (f *memFile) Stat() (fs.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live("stat"); err != nil {
		return nil, err
	}
	return f.n.info(path.Base(f.name)), nil
}

// Sync implements File: the inode's data and mode become durable. On a
// directory it is SyncDir.
func (f *memFile) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live("sync"); err != nil {
		return err
	}
	if err := f.m.begin(OpSync, f.name, ""); err != nil {
		return pathErr("sync", f.name, err)
	}
	f.n.sync()
	return nil
}

// Close implements io.Closer. It is not a mutating operation.
func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	err := f.live("close")
	f.closed = true
	return err
}
