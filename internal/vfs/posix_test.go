//go:build unix

package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The POSIX table runs against OS (in t.TempDir) and MemFS alike, and both
// must give the same error and leave the same files: that keeps the model
// honest.

func TestMain(m *testing.M) {
	syscall.Umask(0o022) // so that OS modes are the perm given
	os.Exit(m.Run())
}

type posixCase struct {
	name  string
	setup []step
	do    step
	want  error // nil, a syscall.Errno, io.EOF or fs.ErrClosed
	files map[string]FileState
}

var posixCases = []posixCase{
	{name: "create in missing dir", do: put("d/a", "x"), want: syscall.ENOENT},
	{name: "create under a file", setup: []step{put("a", "x")}, do: put("a/b", "y"), want: syscall.ENOTDIR,
		files: map[string]FileState{"a": file("x", 0o644)}},
	{name: "create over dir", setup: []step{mkdir("d")}, do: put("d", "x"), want: syscall.EISDIR},
	{name: "create truncates and keeps mode", setup: []step{put("a", "long old"), chmod("a", 0o600)},
		do: put("a", "new"), files: map[string]FileState{"a": file("new", 0o600)}},
	{name: "open missing", do: withOpen("a", func(File) error { return nil }), want: syscall.ENOENT},
	{name: "open dir, read", setup: []step{mkdir("d")}, want: syscall.EISDIR,
		do: withOpen("d", func(f File) error { _, err := f.Read(make([]byte, 4)); return err })},
	{name: "open dir, stat", setup: []step{mkdir("d")}, do: withOpen("d", func(f File) error {
		if fi, err := f.Stat(); err != nil || !fi.IsDir() || fi.Name() != "d" {
			return errors.New("stat of a dir handle: not a dir named d")
		}
		return nil
	})},
	{name: "write read-only", setup: []step{put("a", "x")}, want: syscall.EBADF, files: map[string]FileState{"a": file("x", 0o644)},
		do: withOpen("a", func(f File) error { _, err := f.Write([]byte("y")); return err })},
	{name: "read, seek, readat", setup: []step{put("a", "hello")}, files: map[string]FileState{"a": file("hello", 0o644)},
		do: withOpen("a", func(f File) error {
			b := make([]byte, 3)
			if n, err := f.Read(b); err != nil || string(b[:n]) != "hel" {
				return errors.New("read: not hel")
			}
			if off, err := f.Seek(-1, io.SeekEnd); err != nil || off != 4 {
				return errors.New("seek end: not 4")
			}
			if n, err := f.ReadAt(b, 3); n != 2 || err != io.EOF || string(b[:2]) != "lo" {
				return errors.New("readat: not lo and io.EOF")
			}
			_, err := f.Seek(-10, io.SeekCurrent)
			return err
		}), want: syscall.EINVAL},
	{name: "read at end", setup: []step{put("a", "")}, want: io.EOF, files: map[string]FileState{"a": file("", 0o644)},
		do: withOpen("a", func(f File) error { _, err := f.Read(make([]byte, 1)); return err })},
	{name: "close twice", setup: []step{put("a", "")}, want: fs.ErrClosed, files: map[string]FileState{"a": file("", 0o644)},
		do: withOpen("a", func(f File) error { f.Close(); return f.Close() })},
	{name: "write past end fills zeros", files: map[string]FileState{"a": file("ab\x00\x00c", 0o644)},
		do: func(fsys FS, root string) error {
			f, err := fsys.Create(at(root, "a"), 0o644)
			if err != nil {
				return err
			}
			f.Write([]byte("ab"))
			f.Seek(4, io.SeekStart)
			return writeClose(f, "c")
		}},
	{name: "stat size", setup: []step{put("a", "12345")}, files: map[string]FileState{"a": file("12345", 0o644)},
		do: func(fsys FS, root string) error {
			if fi, err := fsys.Stat(at(root, "a")); err != nil || fi.Size() != 5 || fi.IsDir() || fi.Name() != "a" {
				return errors.New("stat: not a 5-byte file named a")
			}
			_, err := fsys.Lstat(at(root, "b"))
			return err
		}, want: syscall.ENOENT},
	{name: "stat under a file", setup: []step{put("a", "")}, want: syscall.ENOTDIR, files: map[string]FileState{"a": file("", 0o644)},
		do: func(fsys FS, root string) error { _, err := fsys.Stat(at(root, "a/b")); return err }},
	{name: "append", setup: []step{put("a", "ab")}, do: appendTo("a", "cd"), files: map[string]FileState{"a": file("abcd", 0o644)}},
	{name: "append creates", do: appendTo("a", "cd"), files: map[string]FileState{"a": file("cd", 0o600)}},
	{name: "mkdir existing", setup: []step{mkdir("d")}, do: mkdir("d"), want: syscall.EEXIST},
	{name: "mkdir over file", setup: []step{put("a", "")}, do: mkdir("a"), want: syscall.EEXIST, files: map[string]FileState{"a": file("", 0o644)}},
	{name: "mkdir missing parent", do: mkdir("d/e"), want: syscall.ENOENT},
	{name: "readdir sorted", setup: []step{put("b", ""), mkdir("c"), put("a", "")}, do: readDir(".", "a", "b", "c"),
		files: map[string]FileState{"a": file("", 0o644), "b": file("", 0o644)}},
	{name: "readdir of file", setup: []step{put("a", "")}, do: readDir("a"), want: syscall.ENOTDIR,
		files: map[string]FileState{"a": file("", 0o644)}},
	{name: "remove missing", do: remove("a"), want: syscall.ENOENT},
	{name: "remove file", setup: []step{put("a", ""), put("b", "")}, do: remove("a"), files: map[string]FileState{"b": file("", 0o644)}},
	{name: "remove empty dir", setup: []step{mkdir("d")}, do: remove("d")},
	{name: "remove non-empty dir", setup: []step{mkdir("d"), put("d/a", "x")}, do: remove("d"), want: syscall.ENOTEMPTY,
		files: map[string]FileState{"d/a": file("x", 0o644)}},
	{name: "remove open file", setup: []step{put("a", "kept")}, do: func(fsys FS, root string) error {
		f, err := fsys.Open(at(root, "a"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := fsys.Remove(at(root, "a")); err != nil {
			return err
		}
		if b, err := io.ReadAll(f); err != nil || string(b) != "kept" {
			return errors.New("read of a removed open file: not kept")
		}
		return nil
	}},
}

var renameCases = []posixCase{
	{name: "rename replaces file", setup: []step{put("a", "new"), put("b", "old")}, do: rename("a", "b"),
		files: map[string]FileState{"b": file("new", 0o644)}},
	{name: "rename to itself", setup: []step{put("a", "x")}, do: rename("a", "a"), files: map[string]FileState{"a": file("x", 0o644)}},
	{name: "rename between links", setup: []step{put("a", "x"), link("a", "b")}, do: rename("a", "b"),
		files: map[string]FileState{"a": file("x", 0o644), "b": file("x", 0o644)}},
	{name: "rename file onto dir", setup: []step{put("a", "x"), mkdir("d")}, do: rename("a", "d"), want: syscall.EEXIST,
		files: map[string]FileState{"a": file("x", 0o644)}},
	{name: "rename dir onto empty dir", setup: []step{mkdir("d"), mkdir("e")}, do: rename("d", "e"), want: syscall.EEXIST},
	{name: "rename dir onto non-empty dir", setup: []step{mkdir("d"), mkdir("e"), put("e/a", "")}, do: rename("d", "e"),
		want: syscall.EEXIST, files: map[string]FileState{"e/a": file("", 0o644)}},
	{name: "rename dir onto file", setup: []step{mkdir("d"), put("a", "")}, do: rename("d", "a"), want: syscall.ENOTDIR,
		files: map[string]FileState{"a": file("", 0o644)}},
	{name: "rename dir into itself", setup: []step{mkdir("d"), mkdir("d/e")}, do: rename("d", "d/e/f"), want: syscall.EINVAL},
	{name: "rename dir moves tree", setup: []step{mkdir("d"), put("d/a", "x")}, do: rename("d", "e"),
		files: map[string]FileState{"e/a": file("x", 0o644)}},
	{name: "rename missing", do: rename("a", "b"), want: syscall.ENOENT},
	{name: "rename missing onto dir", setup: []step{mkdir("d")}, do: rename("a", "d"), want: syscall.ENOENT},
	{name: "rename into missing dir", setup: []step{put("a", "")}, do: rename("a", "d/a"), want: syscall.ENOENT,
		files: map[string]FileState{"a": file("", 0o644)}},
	{name: "link", setup: []step{put("a", "x")}, do: link("a", "b"), files: map[string]FileState{"a": file("x", 0o644), "b": file("x", 0o644)}},
	{name: "link shares data", setup: []step{put("a", "x"), link("a", "b"), chmod("b", 0o600)}, do: appendTo("b", "y"),
		files: map[string]FileState{"a": file("xy", 0o600), "b": file("xy", 0o600)}},
	{name: "link onto existing", setup: []step{put("a", "x"), put("b", "y")}, do: link("a", "b"), want: syscall.EEXIST,
		files: map[string]FileState{"a": file("x", 0o644), "b": file("y", 0o644)}},
	{name: "link dir", setup: []step{mkdir("d")}, do: link("d", "e"), want: syscall.EPERM},
	{name: "link missing", do: link("a", "b"), want: syscall.ENOENT},
	{name: "link into missing dir", setup: []step{put("a", "")}, do: link("a", "d/b"), want: syscall.ENOENT,
		files: map[string]FileState{"a": file("", 0o644)}},
	{name: "chmod", setup: []step{put("a", "")}, do: chmod("a", 0o700), files: map[string]FileState{"a": file("", 0o700)}},
	{name: "chmod missing", do: chmod("a", 0o700), want: syscall.ENOENT},
}

func TestPOSIX(t *testing.T) {
	t.Parallel()
	for _, c := range append(posixCases, renameCases...) {
		for _, impl := range []string{"OS", "MemFS"} {
			t.Run(c.name+"/"+impl, func(t *testing.T) {
				t.Parallel()
				fsys, root, snap := newFS(t, impl)
				for i, s := range c.setup {
					if err := s(fsys, root); err != nil {
						t.Fatalf("setup step %d: %v", i, err)
					}
				}
				err := c.do(fsys, root)
				checkErr(t, err, c.want)
				want := c.files
				if want == nil {
					want = map[string]FileState{}
				}
				if diff := cmp.Diff(want, snap()); diff != "" {
					t.Errorf("files (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// newFS returns the implementation, the root to work in, and a function
// that snapshots the regular files under it.
func newFS(t *testing.T, impl string) (FS, string, func() map[string]FileState) {
	t.Helper()
	if impl == "OS" {
		root := t.TempDir()
		return OS{}, root, func() map[string]FileState { return osSnapshot(t, root) }
	}
	m := NewMemFS()
	if err := m.MkdirAll("/r", 0o755); err != nil {
		t.Fatal(err)
	}
	return m, "/r", func() map[string]FileState { return m.Snapshot("/r") }
}

func checkErr(t *testing.T, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("error %v, want none", got)
	case want == nil:
		return
	case !errors.Is(got, want):
		t.Fatalf("error %v, want %v", got, want)
	}
	var pe *fs.PathError
	var le *os.LinkError
	if !errors.As(got, &pe) && !errors.As(got, &le) && got != io.EOF {
		t.Errorf("error %#v is neither *fs.PathError nor *os.LinkError", got)
	}
}

func osSnapshot(t *testing.T, root string) map[string]FileState {
	t.Helper()
	out := map[string]FileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = FileState{Data: data, Mode: fi.Mode().Perm()}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}
