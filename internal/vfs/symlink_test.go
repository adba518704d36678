//go:build unix

package vfs

import (
	"errors"
	"io"
	"io/fs"
	"syscall"
	"testing"
)

// TestSymlink runs one sequence against OS and MemFS: a link to a folder is
// followed by Open, Stat and ReadDir, not by Lstat, and a new link renamed
// over it replaces it (how the slots layout flips a release).
func TestSymlink(t *testing.T) {
	for _, impl := range []string{"OS", "MemFS"} {
		t.Run(impl, func(t *testing.T) {
			fsys, root, _ := newFS(t, impl)
			must(t, fsys.Mkdir(at(root, "a"), 0o755))
			must(t, fsys.Mkdir(at(root, "b"), 0o755))
			must(t, writeClose(mustCreate(t, fsys, at(root, "a/f")), "in a"))
			must(t, writeClose(mustCreate(t, fsys, at(root, "b/f")), "in b"))
			must(t, fsys.Symlink("a", at(root, "cur")))
			checkLink(t, fsys, root, "a", "in a")
			checkErr(t, fsys.Symlink("b", at(root, "cur")), syscall.EEXIST)
			must(t, fsys.Symlink("b", at(root, "cur.new")))
			must(t, fsys.Rename(at(root, "cur.new"), at(root, "cur")))
			checkLink(t, fsys, root, "b", "in b")
			_, err := fsys.Readlink(at(root, "a"))
			checkErr(t, err, syscall.EINVAL)
			_, err = fsys.Readlink(at(root, "none"))
			checkErr(t, err, syscall.ENOENT)
			must(t, fsys.Remove(at(root, "cur")))
			if fi, err := fsys.Stat(at(root, "b")); err != nil || !fi.IsDir() {
				t.Fatalf("removing the link touched its folder: %v", err)
			}
		})
	}
}

func checkLink(t *testing.T, fsys FS, root, want, content string) {
	t.Helper()
	if got, err := fsys.Readlink(at(root, "cur")); err != nil || got != want {
		t.Fatalf("readlink = %q, %v; want %q", got, err, want)
	}
	if fi, err := fsys.Lstat(at(root, "cur")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("lstat of the link: %v, %v; want a symlink", fi, err)
	}
	if fi, err := fsys.Stat(at(root, "cur")); err != nil || !fi.IsDir() {
		t.Fatalf("stat through the link: %v; want its folder", err)
	}
	es, err := fsys.ReadDir(at(root, "cur"))
	if err != nil || len(es) != 1 || es[0].Name() != "f" {
		t.Fatalf("readdir through the link: %v, %v", es, err)
	}
	f, err := fsys.Open(at(root, "cur/f"))
	must(t, err)
	defer f.Close()
	if b, err := io.ReadAll(f); err != nil || string(b) != content {
		t.Fatalf("read through the link: %q, %v; want %q", b, err, content)
	}
}

// TestSymlinkCrash: a link is lost with its unsynced folder, kept whole once
// the folder is synced, and a rename over it is kept or lost whole.
func TestSymlinkCrash(t *testing.T) {
	m := NewMemFS()
	must(t, m.MkdirAll("/r/a", 0o755))
	must(t, m.MkdirAll("/r/b", 0o755))
	must(t, m.Symlink("a", "/r/cur"))
	lost := m.Clone()
	lost.Crash(DropUnsynced)
	if _, err := lost.Lstat("/r/cur"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an unsynced link survived DropUnsynced: %v", err)
	}
	must(t, m.SyncDir("/r"))
	must(t, m.Symlink("b", "/r/new"))
	must(t, m.Rename("/r/new", "/r/cur"))
	for seed := range uint32(20) {
		c := m.Clone()
		c.Crash(KeepRandom(seed))
		got, err := c.Readlink("/r/cur")
		if err != nil || (got != "a" && got != "b") {
			t.Fatalf("seed %d: readlink = %q, %v; want a or b", seed, got, err)
		}
	}
	m.Crash(DropUnsynced)
	if got, err := m.Readlink("/r/cur"); err != nil || got != "a" {
		t.Fatalf("after a crash the synced link reads %q, %v; want a", got, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, fsys FS, name string) File {
	t.Helper()
	f, err := fsys.Create(name, 0o644)
	must(t, err)
	return f
}
