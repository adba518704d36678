package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// copyBufSize is the one fixed buffer each stream goes through.
const copyBufSize = 64 << 10

// writeAtomic replaces path with data: temp file, fsync, rename, fsync dir.
// If path already holds exactly data, nothing is written (flash wear).
func writeAtomic(fsys vfs.FS, path string, data []byte) error {
	if old, err := readFile(fsys, path, int64(len(data))+1); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := path + ".tmp"
	f, err := fsys.Create(tmp, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return syncDir(fsys, filepath.Dir(path))
}

// readFile reads a whole small file, refusing one larger than max.
func readFile(fsys vfs.FS, path string, max int64) ([]byte, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Size() <= max {
		buf.Grow(int(fi.Size()) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	data := buf.Bytes()
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, max)
	}
	return data, nil
}

func syncDir(fsys vfs.FS, dir string) error {
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// mkdirAll creates dir and missing parents, fsyncing each parent it changes.
func mkdirAll(fsys vfs.FS, dir string) error {
	fi, err := fsys.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("mkdir %s: %w", dir, fs.ErrExist)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAll(fsys, parent); err != nil {
			return err
		}
	}
	if err := fsys.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	return syncDir(fsys, parent)
}

// removeAll removes dir and everything below it, then fsyncs its parent.
func removeAll(fsys vfs.FS, dir string) error {
	if err := removeTree(fsys, dir); err != nil {
		return err
	}
	return syncDir(fsys, filepath.Dir(dir))
}

func removeTree(fsys vfs.FS, name string) error {
	fi, err := fsys.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		es, err := fsys.ReadDir(name)
		if err != nil {
			return fmt.Errorf("list %s: %w", name, err)
		}
		for _, e := range es {
			if err := removeTree(fsys, filepath.Join(name, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// exists reports whether name exists (without following a final symlink).
func exists(fsys vfs.FS, name string) (bool, error) {
	_, err := fsys.Lstat(name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// isDir reports whether name is a folder (not following a final symlink).
func isDir(fsys vfs.FS, name string) (bool, error) {
	fi, err := fsys.Lstat(name)
	switch {
	case err == nil:
		return fi.IsDir(), nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return false, nil // ENOTDIR: a parent is a file
	}
	return false, err
}

// under joins a slash-separated manifest path onto root.
func under(root, p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

// parents returns the folders between root (exclusive) and p (exclusive),
// shallowest first: "a/b/c" gives "a", "a/b".
func parents(p string) []string {
	var out []string
	for i := range len(p) {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// WriteFileAtomic replaces path with data crash-safely (temp file, fsync,
// rename, fsync dir), and writes nothing if path already holds data.
func WriteFileAtomic(fsys vfs.FS, path string, data []byte) error {
	return writeAtomic(fsys, path, data)
}

// ReadSmallFile reads a state file of at most 16 MiB.
func ReadSmallFile(fsys vfs.FS, path string) ([]byte, error) { return readFile(fsys, path, 16<<20) }
