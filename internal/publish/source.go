package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// Errors callers branch on.
var (
	// ErrUnsupported: the source holds something a release cannot carry
	// (a symbolic link, a device, a git submodule).
	ErrUnsupported = errors.New("publish: unsupported file")
	// ErrConflict: the version already exists on the origin with other content.
	ErrConflict = errors.New("publish: version already published")
	// ErrChanged: a file changed while it was being published.
	ErrChanged = errors.New("publish: file changed while reading")
	// ErrNoChannel: the channel has no pointer yet.
	ErrNoChannel = errors.New("publish: no such channel")
	// ErrGit: a git command failed or printed what it should not.
	ErrGit = errors.New("publish: git")
	// ErrEmpty: the source holds no file.
	ErrEmpty = errors.New("publish: no files to publish")
	// ErrBusy: another publisher is writing to the origin.
	ErrBusy = errors.New("publish: origin busy")
)

// Entry is one file of a source.
type Entry struct {
	Path string      // slash-separated, relative; checked with manifest.ValidPath
	Mode fs.FileMode // permission bits
	Size int64       // bytes of content
}

// Source is the content of a release.
type Source interface {
	// Walk calls fn once for every file, with a reader of exactly Size bytes
	// of its content, valid only during the call. It stops at the first
	// error. Anything that is not a regular file is an error, never skipped.
	Walk(ctx context.Context, fn func(Entry, io.Reader) error) error
}

// Lister is a Source whose files can be listed first and then opened in
// any order, so that they are compressed in parallel. Dir is one.
type Lister interface {
	Source
	// List returns every file, after the checks Walk makes.
	List(ctx context.Context) ([]Entry, error)
	// Open opens a listed file. The caller closes it.
	Open(e Entry) (io.ReadCloser, error)
}

// Dir is a Source reading a folder of the local disk.
type Dir struct {
	Root string
	Log  *slog.Logger // warnings (empty folders); nil for slog.Default
}

// Walk implements Source.
func (d Dir) Walk(ctx context.Context, fn func(Entry, io.Reader) error) error {
	entries, err := d.List(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := d.walkOne(e, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d Dir) walkOne(e Entry, fn func(Entry, io.Reader) error) error {
	f, err := d.Open(e)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(e, f)
}

// List implements Lister. It refuses symbolic links, special files and
// invalid paths, and warns about empty folders, which a manifest cannot
// carry. A root given as a symbolic link is followed.
func (d Dir) List(ctx context.Context) ([]Entry, error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	var entries []Entry
	err = filepath.WalkDir(root, func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, name)
		if err != nil || rel == "." {
			return err
		}
		e, err := d.entry(name, filepath.ToSlash(rel), de)
		if err == nil && e.Path != "" {
			entries = append(entries, e)
		}
		return err
	})
	return entries, err
}

func (d Dir) root() (string, error) {
	root, err := filepath.EvalSymlinks(d.Root)
	if err != nil {
		return "", fmt.Errorf("source folder: %w", err)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return "", fmt.Errorf("source %q is not a folder", d.Root)
	}
	return root, nil
}

// entry checks one walked name; folders return a zero Entry.
func (d Dir) entry(name, rel string, de fs.DirEntry) (Entry, error) {
	switch t := de.Type(); {
	case t.IsDir():
		if empty, err := isEmptyDir(name); err == nil && empty {
			d.log().Warn("empty folder is not part of the release: a manifest lists files only", "folder", rel)
		}
		return Entry{}, nil
	case t&fs.ModeSymlink != 0:
		return Entry{}, fmt.Errorf("%w: %q is a symbolic link: copy its target in, or remove it", ErrUnsupported, rel)
	case !t.IsRegular():
		return Entry{}, fmt.Errorf("%w: %q is not a regular file (%v)", ErrUnsupported, rel, t)
	}
	if err := manifest.ValidPath(rel); err != nil {
		return Entry{}, err
	}
	info, err := de.Info()
	if err != nil {
		return Entry{}, err
	}
	return Entry{Path: rel, Mode: info.Mode().Perm(), Size: info.Size()}, nil
}

// Open implements Lister. The file must still be a regular file; a size
// that changed since List is caught while it is read (ErrChanged).
func (d Dir) Open(e Entry) (io.ReadCloser, error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(e.Path)))
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %q is no longer a regular file", ErrChanged, e.Path)
	}
	return f, nil
}

func (d Dir) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

func isEmptyDir(name string) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}
