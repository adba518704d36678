package vfs

import (
	"bytes"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fuzzNames = []string{"/a", "/b", "/d", "/d/a", "/d/b", "/e", "/d/e", "/e/d"}

// fuzzOps runs the operations encoded in prog, three bytes each (what,
// name, second name or data), ignoring their errors, and returns the
// MemFS it ended on (some operations go on in a clone), and each MemFS
// left behind with its snapshot, which later changes must not touch.
func fuzzOps(m *MemFS, prog []byte) (*MemFS, []frozenFS) {
	var left []frozenFS
	for ; len(prog) >= 3; prog = prog[3:] {
		a, b := fuzzNames[int(prog[1])%len(fuzzNames)], fuzzNames[int(prog[2])%len(fuzzNames)]
		data := bytes.Repeat([]byte{prog[2]}, int(prog[2]%5))
		switch prog[0] % 13 {
		case 0:
			put(a[1:], string(data))(m, "")
		case 1:
			appendTo(a[1:], string(data))(m, "")
		case 2:
			syncFile(a[1:])(m, "")
		case 3:
			m.Mkdir(a, 0o755)
		case 4:
			m.Remove(a)
		case 5:
			m.Rename(a, b)
		case 6:
			m.Link(a, b)
		case 7:
			m.Chmod(a, 0o600)
		case 8:
			m.SyncDir(a)
		case 9:
			m.SyncDir("/")
		case 10:
			m.Crash(KeepRandom(uint32(prog[2])))
		case 11:
			left = append(left, frozenFS{m, m.Snapshot("/")})
			m = m.Clone()
		case 12:
			rewrite(m, a, data)
		}
	}
	return m, left
}

type frozenFS struct {
	m    *MemFS
	snap map[string]FileState
}

// rewrite overwrites file name in place after syncing it, through one
// File (the only in-place write FS allows).
func rewrite(m *MemFS, name string, data []byte) {
	f, err := m.Create(name, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write([]byte("abcdef"))
	f.Sync()
	f.Seek(1, io.SeekStart)
	f.Write(data)
}

// syncAll syncs every file and directory through the FS interface.
func syncAll(t *testing.T, m *MemFS, dir string) {
	t.Helper()
	es, err := m.ReadDir(dir + "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		name := dir + "/" + e.Name()
		if e.IsDir() {
			syncAll(t, m, name)
		} else if err := syncFile(name[1:])(m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SyncDir(dir + "/"); err != nil {
		t.Fatal(err)
	}
}

// checkTree fails if a directory is reachable under two names.
func checkTree(t *testing.T, m *MemFS) {
	t.Helper()
	seen := map[*inode]bool{}
	var walk func(n *inode)
	walk = func(n *inode) {
		if seen[n] {
			t.Fatal("a directory is reachable under two names")
		}
		seen[n] = true
		for _, c := range n.cur.entries {
			if c.isDir() {
				walk(c)
			}
		}
	}
	walk(m.root)
}

// FuzzMemFS checks the crash model's invariants over random histories:
// KeepAll keeps what is visible, syncing everything makes DropUnsynced keep
// it too, and no crash leaves a directory under two names.
func FuzzMemFS(f *testing.F) {
	f.Add([]byte{0, 0, 3, 8, 0, 0, 9, 0, 0})                   // create, sync parent
	f.Add([]byte{3, 2, 0, 0, 3, 1, 5, 3, 7, 10, 0, 1})         // mkdir, create, rename, crash
	f.Add([]byte{3, 2, 0, 3, 5, 0, 9, 0, 0, 5, 2, 5, 8, 5, 0}) // the two-name dir rename
	f.Add([]byte{0, 0, 4, 6, 0, 1, 1, 1, 3, 2, 1, 0, 5, 0, 1, 10, 0, 9})
	f.Add([]byte{12, 0, 3, 11, 0, 0, 12, 0, 4, 9, 0, 0, 10, 0, 7}) // copy on write
	f.Fuzz(func(t *testing.T, prog []byte) {
		m, left := fuzzOps(NewMemFS(), prog)
		for _, l := range left {
			if diff := cmp.Diff(l.snap, l.m.Snapshot("/")); diff != "" {
				t.Fatalf("a clone's changes leaked into its original (-want +got):\n%s", diff)
			}
		}
		checkTree(t, m)
		now := m.Snapshot("/")

		keep := m.Clone()
		keep.Crash(KeepAll)
		if diff := cmp.Diff(now, keep.Snapshot("/")); diff != "" {
			t.Fatalf("KeepAll changed the tree (-before +after):\n%s", diff)
		}
		synced := m.Clone()
		syncAll(t, synced, "")
		synced.Crash(DropUnsynced)
		if diff := cmp.Diff(now, synced.Snapshot("/")); diff != "" {
			t.Fatalf("DropUnsynced after syncing all changed the tree (-before +after):\n%s", diff)
		}
		for _, mode := range []CrashMode{DropUnsynced, KeepRandom(1), KeepRandom(2)} {
			c := m.Clone()
			c.Crash(mode)
			checkTree(t, c)
			after := c.Snapshot("/")
			c.Crash(DropUnsynced)
			if diff := cmp.Diff(after, c.Snapshot("/")); diff != "" {
				t.Fatalf("%v: not all durable after the crash (-want +got):\n%s", mode, diff)
			}
		}
	})
}
