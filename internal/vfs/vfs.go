// Package vfs is the filesystem interface Ferry's installer works through.
//
// Everything the installer does to a disk goes through FS, so that tests can
// swap in MemFS, which models a power cut the way a real disk behaves: data
// written but not fsynced may be lost, a directory change (create, rename,
// remove, link) not followed by an fsync of that directory may be lost, and
// what was synced survives. OS is the real implementation.
//
// Paths are OS paths (filepath), absolute or relative to the process's
// working directory for OS, and always absolute ("/"-rooted, slash-separated)
// for MemFS.
//
// # Crash tests
//
// MemFS counts every mutating call (Ops), can cut the power at any one of
// them (SetPowerCutAt) or fail it with an error such as ENOSPC (SetErrorAt,
// SetHook), and then reboots (Crash) into one of the states a real disk
// could be left in: only what was synced (DropUnsynced), everything
// (KeepAll), or a random consistent mix (KeepRandom). An exhaustive crash
// test runs the code once to count its operations, then for each k clones
// the starting MemFS, cuts the power at operation k, crashes under each
// mode, runs recovery (itself cut at every point, if need be) and checks
// the result; see Example_crashTest. The same POSIX table runs against OS
// and MemFS in the tests, so that the model does not drift from Linux.
//
// # Errors
//
// Both implementations return *fs.PathError (or *os.LinkError from Rename
// and Link) wrapping a syscall.Errno, so errors.Is(err, fs.ErrNotExist),
// errors.Is(err, fs.ErrExist) and errors.Is(err, syscall.ENOTEMPTY) work
// alike on both. A MemFS after a power cut wraps ErrPowerCut.
package vfs

import (
	"errors"
	"io"
	"io/fs"
)

// ErrPowerCut is returned by every operation of a MemFS after its injected
// power cut, until Crash is called.
var ErrPowerCut = errors.New("vfs: power cut (injected)")

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Seeker
	io.Closer
	Stat() (fs.FileInfo, error)
	// Sync makes the file's content and mode durable.
	Sync() error
}

// FS is what the installer needs of a filesystem.
type FS interface {
	// Open opens a file for reading.
	Open(name string) (File, error)
	// Create creates or truncates a file for writing with permission perm.
	Create(name string, perm fs.FileMode) (File, error)
	// OpenAppend opens a file for writing at its end, creating it with
	// permission perm if it does not exist (resumed downloads).
	OpenAppend(name string, perm fs.FileMode) (File, error)
	// Stat and Lstat are os.Stat and os.Lstat.
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory, sorted by name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Mkdir creates one directory.
	Mkdir(name string, perm fs.FileMode) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// Rename atomically replaces newname with oldname (rename(2)).
	Rename(oldname, newname string) error
	// Link makes newname a hard link to oldname (link(2)).
	Link(oldname, newname string) error
	// Chmod changes permission bits; they are durable once the file is synced.
	Chmod(name string, mode fs.FileMode) error
	// SyncDir makes the entries of directory name durable (fsync of the directory).
	SyncDir(name string) error
	// Symlink makes newname a symbolic link holding oldname (symlink(2)).
	Symlink(oldname, newname string) error
	// Readlink returns the content of symbolic link name (readlink(2)).
	Readlink(name string) (string, error)
}
