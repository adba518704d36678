package vfs

import (
	"errors"
	"io"
	"io/fs"

	"github.com/google/go-cmp/cmp"
)

// Steps shared by the tests: each is one action on an FS, with names
// relative to root ("" for the MemFS root, so "a" is "/a").

// step is one action on fsys; names are relative to root.
type step func(fsys FS, root string) error

func at(root, name string) string { return root + "/" + name }

func mkdir(name string) step {
	return func(fsys FS, root string) error { return fsys.Mkdir(at(root, name), 0o755) }
}

// put creates (or truncates) name and writes data.
func put(name, data string) step {
	return func(fsys FS, root string) error {
		f, err := fsys.Create(at(root, name), 0o644)
		if err != nil {
			return err
		}
		return writeClose(f, data)
	}
}

func appendTo(name, data string) step {
	return func(fsys FS, root string) error {
		f, err := fsys.OpenAppend(at(root, name), 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return err
		}
		return writeClose(f, data)
	}
}

func writeClose(f File, data string) error {
	if _, err := f.Write([]byte(data)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func rename(a, b string) step {
	return func(fsys FS, root string) error { return fsys.Rename(at(root, a), at(root, b)) }
}

func link(a, b string) step {
	return func(fsys FS, root string) error { return fsys.Link(at(root, a), at(root, b)) }
}

func remove(name string) step {
	return func(fsys FS, root string) error { return fsys.Remove(at(root, name)) }
}

func chmod(name string, mode fs.FileMode) step {
	return func(fsys FS, root string) error { return fsys.Chmod(at(root, name), mode) }
}

// withOpen opens name read-only and runs use on the File.
func withOpen(name string, use func(f File) error) step {
	return func(fsys FS, root string) error {
		f, err := fsys.Open(at(root, name))
		if err != nil {
			return err
		}
		defer f.Close()
		return use(f)
	}
}

func readDir(name string, want ...string) step {
	return func(fsys FS, root string) error {
		es, err := fsys.ReadDir(at(root, name))
		if err != nil {
			return err
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Name())
		}
		if !cmp.Equal(got, want) {
			return errors.New("readdir: " + cmp.Diff(want, got))
		}
		return nil
	}
}

func file(data string, mode fs.FileMode) FileState {
	return FileState{Data: []byte(data), Mode: mode}
}
