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

// Dir is a Source reading a folder of the local disk.
type Dir struct {
	Root string
	Log  *slog.Logger // warnings (empty folders); nil for slog.Default
}

// Walk implements Source. It refuses symbolic links and special files and
// warns about empty folders, which a manifest cannot carry.
func (d Dir) Walk(ctx context.Context, fn func(Entry, io.Reader) error) error {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	root, err := filepath.EvalSymlinks(d.Root) // a root given as a link is followed
	if err != nil {
		return fmt.Errorf("source folder: %w", err)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return fmt.Errorf("source %q is not a folder", d.Root)
	}
	return filepath.WalkDir(root, func(name string, de fs.DirEntry, err error) error {
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
		rel = filepath.ToSlash(rel)
		switch t := de.Type(); {
		case t.IsDir():
			if empty, err := isEmptyDir(name); err == nil && empty {
				log.Warn("empty folder is not part of the release: a manifest lists files only", "folder", rel)
			}
			return nil
		case t&fs.ModeSymlink != 0:
			return fmt.Errorf("%w: %q is a symbolic link: copy its target in, or remove it", ErrUnsupported, rel)
		case !t.IsRegular():
			return fmt.Errorf("%w: %q is not a regular file (%v)", ErrUnsupported, rel, t)
		}
		if err := manifest.ValidPath(rel); err != nil {
			return err
		}
		return walkFile(name, rel, fn)
	})
}

func walkFile(name, rel string, fn func(Entry, io.Reader) error) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %q is not a regular file (%v)", ErrUnsupported, rel, info.Mode().Type())
	}
	return fn(Entry{Path: rel, Mode: info.Mode().Perm(), Size: info.Size()}, f)
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
