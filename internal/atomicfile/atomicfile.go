// Package atomicfile writes small files on the real filesystem (the agent's
// state, the publisher's origin documents and keys) so that a power cut at any instant leaves either the old or the
// new content, never a torn file, and so that flash is not worn by rewriting
// bytes that did not change.
//
// A write goes to a temporary file in the same directory, which is fsynced,
// renamed over the destination, and then the directory is fsynced so the
// rename itself is durable. WriteIfChanged first compares with what is on disk
// and skips the write when the content is the same.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrWrite wraps every failure to write a state file.
var ErrWrite = errors.New("atomicfile: write failed")

// Write atomically replaces the file at path with data.
func Write(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrWrite, path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrWrite, path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrWrite, path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%w: fsync %q: %w", ErrWrite, name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrWrite, path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	ok = true
	return SyncDir(dir)
}

// WriteIfChanged writes data to path with Write unless the file already holds
// exactly data. It reports whether it wrote.
func WriteIfChanged(path string, data []byte, perm fs.FileMode) (bool, error) {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return true, Write(path, data, perm)
}

// SyncDir fsyncs the directory dir, making its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: fsync dir %q: %w", ErrWrite, dir, err)
	}
	return nil
}

// Remove removes the file at path, if it exists, and fsyncs its directory
// so the removal survives a power cut.
func Remove(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return SyncDir(filepath.Dir(path))
}
