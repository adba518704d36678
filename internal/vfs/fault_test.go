package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// script runs six mutating operations (Create, Write, Sync, Mkdir, Rename,
// SyncDir) and returns the error of each, going on after errors.
func script(m *MemFS) []error {
	errs := make([]error, 6)
	f, err := m.Create("/a", 0o644)
	errs[0] = err
	if f == nil {
		f = deadFile{err}
	}
	_, errs[1] = f.Write([]byte("x"))
	errs[2] = f.Sync()
	f.Close()
	errs[3] = m.Mkdir("/d", 0o755)
	errs[4] = m.Rename("/a", "/d/a")
	errs[5] = m.SyncDir("/d")
	return errs
}

// deadFile stands for the File a failed Create did not return.
type deadFile struct{ error }

func (d deadFile) Read([]byte) (int, error)          { return 0, d.error }
func (d deadFile) ReadAt([]byte, int64) (int, error) { return 0, d.error }
func (d deadFile) Write([]byte) (int, error)         { return 0, d.error }
func (d deadFile) Seek(int64, int) (int64, error)    { return 0, d.error }
func (d deadFile) Close() error                      { return d.error }
func (d deadFile) Stat() (fs.FileInfo, error)        { return nil, d.error }
func (d deadFile) Sync() error                       { return d.error }

func TestPowerCutAt(t *testing.T) {
	t.Parallel()
	// keep is what Crash(KeepAll) shows after a cut at op k: ops 1..k-1.
	keep := []map[string]FileState{
		1: files(), 2: files("a", ""), 3: files("a", "x"), 4: files("a", "x"),
		5: files("a", "x"), 6: files("d/a", "x"), 7: files("d/a", "x"),
	}
	for k := 1; k <= 7; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			t.Parallel()
			m := NewMemFS()
			m.SetPowerCutAt(k)
			errs := script(m)
			for i, err := range errs {
				if want := i+1 >= k; errors.Is(err, ErrPowerCut) != want {
					t.Errorf("op %d: error %v, want ErrPowerCut: %v", i+1, err, want)
				}
			}
			if got, want := m.Ops(), min(k, 6); got != want {
				t.Errorf("Ops() = %d, want %d", got, want)
			}
			if got := m.PoweredOff(); got != (k <= 6) {
				t.Errorf("PoweredOff() = %v", got)
			}
			m.Crash(KeepAll)
			if diff := cmp.Diff(keep[k], m.Snapshot("/")); diff != "" {
				t.Errorf("after crash (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPowerCutStopsEverything(t *testing.T) {
	t.Parallel()
	m := NewMemFS()
	if err := m.WriteFile("/a", []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := m.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	m.SetPowerCutAt(1)
	if err := m.Mkdir("/d", 0o755); !errors.Is(err, ErrPowerCut) {
		t.Fatalf("mkdir at the cut: %v", err)
	}
	calls := map[string]func() error{
		"open":    func() error { _, err := m.Open("/a"); return err },
		"stat":    func() error { _, err := m.Stat("/a"); return err },
		"lstat":   func() error { _, err := m.Lstat("/a"); return err },
		"readdir": func() error { _, err := m.ReadDir("/"); return err },
		"create":  func() error { _, err := m.Create("/b", 0o644); return err },
		"remove":  func() error { return m.Remove("/a") },
		"read":    func() error { _, err := f.Read(make([]byte, 1)); return err },
		"readat":  func() error { _, err := f.ReadAt(make([]byte, 1), 0); return err },
		"seek":    func() error { _, err := f.Seek(0, 0); return err },
		"fstat":   func() error { _, err := f.Stat(); return err },
		"sync":    func() error { return f.Sync() },
		"close":   func() error { return f.Close() },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrPowerCut) {
			t.Errorf("%s after the cut: %v, want ErrPowerCut", name, err)
		}
	}
	if got := m.Ops(); got != 1 {
		t.Errorf("Ops() = %d after the cut, want 1: calls after it are not counted", got)
	}
	m.Crash(DropUnsynced)
	if err := m.Mkdir("/d", 0o755); err != nil {
		t.Errorf("mkdir after Crash: %v", err)
	}
	if got := m.Ops(); got != 1 {
		t.Errorf("Ops() = %d after Crash and one op, want 1", got)
	}
}

func TestSetErrorAt(t *testing.T) {
	t.Parallel()
	m := NewMemFS()
	m.SetErrorAt(2, syscall.ENOSPC)
	m.SetErrorAt(4, syscall.EIO)
	errs := script(m)
	want := []error{nil, syscall.ENOSPC, nil, syscall.EIO, syscall.ENOENT, syscall.ENOENT}
	for i := range want {
		if !errors.Is(errs[i], want[i]) || (want[i] == nil) != (errs[i] == nil) {
			t.Errorf("op %d: error %v, want %v", i+1, errs[i], want[i])
		}
	}
	if m.PoweredOff() {
		t.Error("an injected error cut the power")
	}
	if diff := cmp.Diff(files("a", ""), m.Snapshot("/")); diff != "" {
		t.Errorf("failed write happened (-want +got):\n%s", diff)
	}
}

func TestSetHook(t *testing.T) {
	t.Parallel()
	m := NewMemFS()
	var got []Op
	m.SetHook(func(op Op) error {
		got = append(got, op)
		if op.Kind == OpMkdir {
			return syscall.EROFS
		}
		return nil
	})
	errs := script(m)
	want := []Op{
		{1, OpCreate, "/a", ""}, {2, OpWrite, "/a", ""}, {3, OpSync, "/a", ""},
		{4, OpMkdir, "/d", ""}, {5, OpRename, "/a", "/d/a"}, {6, OpSyncDir, "/d", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ops seen by the hook (-want +got):\n%s", diff)
	}
	if !errors.Is(errs[3], syscall.EROFS) {
		t.Errorf("mkdir: %v, want the hook's EROFS", errs[3])
	}
	m.Crash(KeepAll)
	if errs := script(m); errs[3] != nil {
		t.Errorf("hook still set after Crash: mkdir %v", errs[3])
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	m := NewMemFS()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("/f%d", i)
			for range 50 {
				for _, s := range []step{putSync(name[1:], "x"), syncDir(""), rename(name[1:], name[1:]+".b")} {
					if err := s(m, ""); err != nil {
						t.Error(err)
						return
					}
				}
				m.Stat("/")
			}
		})
	}
	wg.Wait()
	if got, want := m.Ops(), 8*50*5; got != want {
		t.Errorf("Ops() = %d, want %d", got, want)
	}
	if got := len(m.Snapshot("/")); got != 8 {
		t.Errorf("%d files, want 8", got)
	}
}
