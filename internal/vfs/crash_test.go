package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func putSync(name, data string) step {
	return func(fsys FS, root string) error {
		f, err := fsys.Create(at(root, name), 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(data)); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}

func syncFile(name string) step {
	return withOpen(name, func(f File) error { return f.Sync() })
}

func syncDir(name string) step {
	return func(fsys FS, root string) error { return fsys.SyncDir(at(root, name)) }
}

// files builds a snapshot from name, data pairs, all with mode 0o644.
func files(kv ...string) map[string]FileState {
	out := map[string]FileState{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = file(kv[i+1], 0o644)
	}
	return out
}

// setup builds a durable starting tree: names ending in "/" are
// directories, others files holding "old".
func setup(t *testing.T, names ...string) *MemFS {
	t.Helper()
	m := NewMemFS()
	for _, n := range names {
		var err error
		if n[len(n)-1] == '/' {
			err = m.MkdirAll("/"+n, 0o755)
		} else {
			err = m.WriteFile("/"+n, []byte("old"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func run(t *testing.T, m *MemFS, steps []step) {
	t.Helper()
	for i, s := range steps {
		if err := s(m, ""); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func TestCrashRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		init       []string
		steps      []step
		drop, keep map[string]FileState
	}{
		{"unsynced write lost", []string{"a"}, []step{put("a", "new")}, files("a", "old"), files("a", "new")},
		{"unsynced truncate lost", []string{"a"}, []step{put("a", "")}, files("a", "old"), files("a", "")},
		{"synced write kept", []string{"a"}, []step{putSync("a", "new")}, files("a", "new"), files("a", "new")},
		{"create without dir sync lost", []string{"d/"}, []step{putSync("d/b", "x")}, files(), files("d/b", "x")},
		{"create with dir sync only: empty", []string{"d/"}, []step{put("d/b", "x"), syncDir("d")},
			files("d/b", ""), files("d/b", "x")},
		{"create, file and dir synced", []string{"d/"}, []step{putSync("d/b", "x"), syncDir("d")},
			files("d/b", "x"), files("d/b", "x")},
		{"parent dir sync is not enough", []string{"d/"}, []step{putSync("d/b", "x"), syncDir("")},
			files(), files("d/b", "x")},
		{"rename without dir sync", []string{"a"}, []step{putSync("a.tmp", "new"), rename("a.tmp", "a")},
			files("a", "old"), files("a", "new")},
		{"rename with dir sync", []string{"a"}, []step{putSync("a.tmp", "new"), rename("a.tmp", "a"), syncDir("")},
			files("a", "new"), files("a", "new")},
		{"link without dir sync", []string{"a"}, []step{link("a", "b")}, files("a", "old"), files("a", "old", "b", "old")},
		{"link with dir sync", []string{"a"}, []step{link("a", "b"), syncDir("")},
			files("a", "old", "b", "old"), files("a", "old", "b", "old")},
		{"synced write through a link", []string{"a"}, []step{link("a", "b"), syncDir(""), appendTo("b", "!"), syncFile("b")},
			files("a", "old!", "b", "old!"), files("a", "old!", "b", "old!")},
		{"remove without dir sync", []string{"a"}, []step{remove("a")}, files("a", "old"), files()},
		{"remove with dir sync", []string{"a"}, []step{remove("a"), syncDir("")}, files(), files()},
		{"mkdir without parent sync", nil, []step{mkdir("d"), putSync("d/a", "x"), syncDir("d")}, files(), files("d/a", "x")},
		{"cross-dir rename, target synced: two names", []string{"d/a", "e/"}, []step{rename("d/a", "e/a"), syncDir("e")},
			files("d/a", "old", "e/a", "old"), files("e/a", "old")},
		{"cross-dir rename, source synced: lost", []string{"d/a", "e/"}, []step{rename("d/a", "e/a"), syncDir("d")},
			files(), files("e/a", "old")},
		{"dir rename, target synced: first name kept", []string{"d/a", "e/"}, []step{rename("d", "e/d"), syncDir("e")},
			files("d/a", "old"), files("e/d/a", "old")},
		{"dir renames that would make a cycle", []string{"a/b/f"}, []step{
			rename("a/b", "b"), syncDir(""), rename("a", "b/a"), syncDir("b")},
			files("b/f", "old"), files("b/f", "old")},
	}
	for _, tt := range tests {
		for _, mode := range []CrashMode{DropUnsynced, KeepAll} {
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				m := setup(t, tt.init...)
				run(t, m, tt.steps)
				m.Crash(mode)
				want := tt.drop
				if mode == KeepAll {
					want = tt.keep
				}
				if diff := cmp.Diff(want, m.Snapshot("/")); diff != "" {
					t.Errorf("after crash (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestCrashMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
		drop  fs.FileMode
		keep  fs.FileMode
	}{
		{"chmod unsynced", []step{chmod("a", 0o600)}, 0o644, 0o600},
		{"chmod synced", []step{chmod("a", 0o600), syncFile("a")}, 0o600, 0o600},
		{"chmod, dir synced only", []step{chmod("a", 0o600), syncDir("")}, 0o644, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := setup(t, "a")
			run(t, m, tt.steps)
			for mode, want := range map[CrashMode]fs.FileMode{DropUnsynced: tt.drop, KeepAll: tt.keep} {
				c := m.Clone()
				c.Crash(mode)
				if got := c.Snapshot("/")["a"].Mode; got != want {
					t.Errorf("%v: mode %v, want %v", mode, got, want)
				}
			}
		})
	}
}

func TestCrashKeepRandomRenameIsAtomic(t *testing.T) {
	t.Parallel()
	m := setup(t, "d/a", "e/")
	run(t, m, []step{putSync("d/a.tmp", "new"), rename("d/a.tmp", "d/a"), rename("d/a", "e/a")})
	seen := map[string]bool{}
	for seed := range uint32(64) {
		c := m.Clone()
		c.Crash(KeepRandom(seed))
		s := c.Snapshot("/")
		delete(s, "d/a.tmp") // a leftover temp file is fine
		got := fmt.Sprint(s)
		switch got {
		case fmt.Sprint(files("d/a", "old")), fmt.Sprint(files("d/a", "new")), fmt.Sprint(files("e/a", "new")):
			seen[got] = true
		default:
			t.Fatalf("seed %d: %s is no state the history went through", seed, got)
		}
	}
	if len(seen) != 3 {
		t.Errorf("64 seeds gave %d of the 3 possible states: %v", len(seen), seen)
	}
}

func TestCrashKeepRandomWritesArePrefixes(t *testing.T) {
	t.Parallel()
	m := setup(t, "a")
	run(t, m, []step{put("a", "hello "), appendTo("a", "world"), appendTo("a", "!")})
	lengths := map[int]bool{}
	for seed := range uint32(64) {
		c := m.Clone()
		c.Crash(KeepRandom(seed))
		got := c.Snapshot("/")["a"].Data
		if !bytes.HasPrefix([]byte("hello world!"), got) && !bytes.Equal(got, []byte("old")) {
			t.Fatalf("seed %d: %q is neither old nor a prefix of the writes", seed, got)
		}
		lengths[len(got)] = true
	}
	if len(lengths) < 4 {
		t.Errorf("64 seeds gave only %d distinct lengths", len(lengths))
	}
}

func TestCrashKeepRandomIsDeterministic(t *testing.T) {
	t.Parallel()
	m := setup(t, "a", "d/")
	run(t, m, []step{put("a", "x"), putSync("d/b", "y"), syncDir("d"), mkdir("e"), put("e/c", "z")})
	for seed := range uint32(16) {
		a, b := m.Clone(), m.Clone()
		a.Crash(KeepRandom(seed))
		b.Crash(KeepRandom(seed))
		if diff := cmp.Diff(a.Snapshot("/"), b.Snapshot("/")); diff != "" {
			t.Fatalf("seed %d: two crashes differ:\n%s", seed, diff)
		}
		if got := a.Snapshot("/")["d/b"]; string(got.Data) != "y" {
			t.Fatalf("seed %d: synced d/b is %q", seed, got.Data)
		}
	}
}

func TestCrashKillsOpenFiles(t *testing.T) {
	t.Parallel()
	m := setup(t, "a")
	f, err := m.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	m.Crash(KeepAll)
	if _, err := io.ReadAll(f); !errors.Is(err, ErrPowerCut) {
		t.Errorf("read of a file opened before the crash: %v, want ErrPowerCut", err)
	}
	if err := f.Close(); !errors.Is(err, ErrPowerCut) {
		t.Errorf("close of a file opened before the crash: %v, want ErrPowerCut", err)
	}
	if got, err := m.ReadFile("/a"); err != nil || string(got) != "old" {
		t.Errorf("after the crash: %q, %v", got, err)
	}
}

func TestModTimeNeverGoesBack(t *testing.T) {
	t.Parallel()
	m := setup(t, "a")
	run(t, m, []step{putSync("b", "x"), syncDir("")})
	before, err := m.Stat("/b")
	if err != nil {
		t.Fatal(err)
	}
	m.Crash(DropUnsynced)
	run(t, m, []step{put("c", "y")})
	after, err := m.Stat("/c")
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().After(before.ModTime()) {
		t.Errorf("mtime after crash %v, not after %v", after.ModTime(), before.ModTime())
	}
}

func TestClone(t *testing.T) {
	t.Parallel()
	m := setup(t, "a")
	run(t, m, []step{put("b", "unsynced"), link("a", "c"), syncDir("")})
	c := m.Clone()
	run(t, c, []step{appendTo("c", "!"), syncFile("c"), remove("b")})
	if diff := cmp.Diff(files("a", "old", "b", "unsynced", "c", "old"), m.Snapshot("/")); diff != "" {
		t.Errorf("original changed by its clone (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(files("a", "old!", "c", "old!"), c.Snapshot("/")); diff != "" {
		t.Errorf("clone: hard link broken (-want +got):\n%s", diff)
	}
	m.Crash(DropUnsynced)
	if diff := cmp.Diff(files("a", "old", "b", "", "c", "old"), m.Snapshot("/")); diff != "" {
		t.Errorf("original after crash (-want +got):\n%s", diff)
	}
}

func TestCopyOnWrite(t *testing.T) {
	t.Parallel()
	m := NewMemFS()
	f, err := m.Create("/a", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	overwrite := func(at int64, s string) {
		t.Helper()
		if _, err := f.Seek(at, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	overwrite(0, "abcdef")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	overwrite(6, "gh") // an append: no copy
	c := m.Clone()
	overwrite(0, "XY")
	overwrite(4, "Z")
	if err := m.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.ReadFile("/a"); string(got) != "abcdefgh" {
		t.Errorf("clone sees %q, want abcdefgh", got)
	}
	if got, _ := m.ReadFile("/a"); string(got) != "XYcdZfgh" {
		t.Errorf("original sees %q, want XYcdZfgh", got)
	}
	m.Crash(DropUnsynced)
	if got, _ := m.ReadFile("/a"); string(got) != "abcdef" {
		t.Errorf("after crash %q, want the synced abcdef", got)
	}
}
