package vfs

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"syscall"
)

// CrashMode chooses what survives a Crash. The zero value is DropUnsynced.
type CrashMode uint64

const (
	// DropUnsynced is the strict mode: every change not synced is lost.
	DropUnsynced CrashMode = 0
	// KeepAll keeps every change, as if the disk had flushed everything
	// just before the power went.
	KeepAll CrashMode = 1
)

// KeepRandom returns the crash mode that keeps a random part, chosen by
// seed, of what was not synced, as a journaling filesystem would:
//
//   - Directory changes (entries and directory modes) are kept in the
//     order they happened, up to a random instant, like a journal replayed
//     up to its last complete commit. A rename is one change, so it is
//     kept whole or not at all, even between two directories.
//   - Each file independently keeps a random prefix of its unsynced
//     changes (writes, truncation by Create, Chmod), the last kept write
//     possibly torn (only its first bytes kept).
//
// Synced states always survive. Two crashes with the same seed from the same
// history give the same result.
func KeepRandom(seed uint32) CrashMode { return CrashMode(2 + uint64(seed)) }

// String returns the mode's name, such as "KeepRandom(7)".
func (c CrashMode) String() string {
	switch c {
	case DropUnsynced:
		return "DropUnsynced"
	case KeepAll:
		return "KeepAll"
	}
	return fmt.Sprintf("KeepRandom(%d)", uint64(c)-2)
}

// Crash cuts the power (if SetPowerCutAt has not already) and reboots: the
// visible tree becomes what survived under mode, and is all durable now.
// Files opened before return ErrPowerCut from then on. Crash disarms every
// fault (SetPowerCutAt, SetErrorAt, SetHook) and restarts the operation
// count at 0; the modification-time clock goes on.
func (m *MemFS) Crash(mode CrashMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch mode {
	case DropUnsynced:
		m.reboot(func(n *inode) state { return n.dur })
	case KeepAll:
		m.reboot(func(n *inode) state { return n.cur })
	default:
		r := rand.New(rand.NewPCG(uint64(mode), 0x6665727279)) // "ferry"
		cut := m.boot + r.Uint64N(m.seq-m.boot+1)
		m.reboot(func(n *inode) state { return n.random(r, cut) })
	}
	m.boot = m.seq
	m.gen++
	m.ops, m.cutAt, m.cut, m.errAt, m.hook = 0, 0, false, nil, nil
}

// random returns a state n may have after a KeepRandom crash whose
// directory journal ends at change number cut.
func (n *inode) random(r *rand.Rand, cut uint64) state {
	if len(n.log) == 0 {
		return n.dur
	}
	if n.isDir() {
		k := 0
		for k < len(n.log) && n.log[k].seq <= cut {
			k++
		}
		return n.replay(k)
	}
	k := r.IntN(len(n.log) + 1)
	s := n.replay(k)
	if k < len(n.log) && n.log[k].kind == recWrite && r.IntN(2) == 0 {
		torn := n.log[k]
		torn.data = torn.data[:r.IntN(len(torn.data)+1)]
		s.apply(torn)
	}
	return s
}

// reboot makes pick(n) the current and durable state of every inode
// reachable from the root through picked entries, dropping the second name
// of any directory met twice, in breadth-first, name order.
func (m *MemFS) reboot(pick func(*inode) state) {
	seen := map[*inode]bool{m.root: true}
	queue := []*inode{m.root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		s := pick(n).share()
		for _, name := range slices.Sorted(maps.Keys(s.entries)) {
			c := s.entries[name]
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			} else if c.isDir() {
				delete(s.entries, name)
			}
		}
		n.set(s)
	}
}

// Clone returns a deep copy of m: tree, durable state, unsynced changes,
// operation count and armed faults. Files open on m stay with m.
func (m *MemFS) Clone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &MemFS{
		root: cloneGraph(m.root, map[*inode]*inode{}),
		seq:  m.seq, boot: m.boot, gen: m.gen,
		ops: m.ops, cutAt: m.cutAt, cut: m.cut,
		errAt: maps.Clone(m.errAt), hook: m.hook,
	}
}

// FileState is a regular file as Snapshot sees it.
type FileState struct {
	Data []byte      // never nil; empty for an empty file
	Mode fs.FileMode // permission bits only
}

// Snapshot returns every regular file under the directory root as it is
// now, keyed by slash path relative to root ("a/b.txt"). It is empty (not
// nil) if root is not a directory. It works after a power cut too. Folders
// and their modes are not in it: a proof that must see them walks the tree
// with ReadDir and Lstat, as internal/install's power-cut proof does.
func (m *MemFS) Snapshot(root string) map[string]FileState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]FileState{}
	if n, err := m.followed(root); err == nil && n.isDir() {
		snapshot(n, "", out)
	}
	return out
}

func snapshot(dir *inode, prefix string, out map[string]FileState) {
	for name, n := range dir.cur.entries {
		switch {
		case n.isDir():
			snapshot(n, prefix+name+"/", out)
		case n.isSymlink():
			// not a regular file: Readlink sees it
		default:
			out[prefix+name] = FileState{Data: bytes.Clone(n.cur.data), Mode: n.cur.mode.Perm()}
		}
	}
}

// The setup helpers below stand outside the model: they are not counted,
// not faulted, work after a power cut, and what they write is durable at
// once (as if written long ago), without syncing anything else.

// MkdirAll creates directory name and any missing parents, durably.
func (m *MemFS) MkdirAll(name string, perm fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.mkdirAll(name, perm)
	return err
}

func (m *MemFS) mkdirAll(name string, perm fs.FileMode) (*inode, error) {
	parts, err := split(name)
	if err != nil {
		return nil, pathErr("mkdir", name, err)
	}
	d := m.root
	for _, p := range parts {
		c := d.cur.entries[p]
		if c == nil {
			m.seq++
			c = newInode(fs.ModeDir|perm.Perm(), int64(m.seq))
			d.cur.entries[p], d.dur.entries[p] = c, c
		}
		if !c.isDir() {
			return nil, pathErr("mkdir", name, syscall.ENOTDIR)
		}
		d = c
	}
	return d, nil
}

// WriteFile writes data to file name durably, creating it with perm (and
// its missing parents with 0o755) if it does not exist.
func (m *MemFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if parts, err := split(name); err != nil || len(parts) == 0 {
		return pathErr("open", name, cmp.Or(err, error(syscall.EISDIR)))
	}
	dir, err := m.mkdirAll(path.Dir(name), 0o755)
	if err != nil {
		return err
	}
	base := path.Base(name)
	m.seq++
	n := dir.cur.entries[base]
	switch {
	case n == nil:
		n = newInode(perm.Perm(), int64(m.seq))
		dir.cur.entries[base], dir.dur.entries[base] = n, n
	case n.isDir():
		return pathErr("open", name, syscall.EISDIR)
	}
	n.set(state{mode: n.cur.mode, mtime: int64(m.seq), data: append([]byte{}, data...)})
	return nil
}

// ReadFile returns the current content of file name.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.existing(name)
	switch {
	case err != nil:
		return nil, pathErr("open", name, err)
	case n.isDir():
		return nil, pathErr("read", name, syscall.EISDIR)
	}
	return bytes.Clone(n.cur.data), nil
}
