package vfs

// OpKind names a mutating operation of MemFS.
type OpKind string

// The mutating operations MemFS counts. Reads (Open, Stat, Lstat, ReadDir,
// File.Read, File.ReadAt, File.Seek, File.Stat) and File.Close are not
// counted.
const (
	OpCreate     OpKind = "create"
	OpOpenAppend OpKind = "openappend"
	OpWrite      OpKind = "write"
	OpSync       OpKind = "sync"
	OpMkdir      OpKind = "mkdir"
	OpRemove     OpKind = "remove"
	OpRename     OpKind = "rename"
	OpLink       OpKind = "link"
	OpChmod      OpKind = "chmod"
	OpSyncDir    OpKind = "syncdir"
	OpSymlink    OpKind = "symlink"
)

// Op describes one mutating operation, as passed to a hook set by SetHook.
type Op struct {
	// N is the operation's number since NewMemFS or the last Crash, from 1.
	N    int
	Kind OpKind
	// Path is the name the call was given (for File methods, the name the
	// File was opened with).
	Path string
	// NewPath is the second name of Rename and Link (and the link's name
	// for Symlink, whose Path is the link's content), else empty.
	NewPath string
}

// SetPowerCutAt arms a power cut: mutating operation number k (counted
// from 1 since NewMemFS or the last Crash) does not happen and returns
// ErrPowerCut, and from then on every call of any kind, including calls on
// Files already open, returns ErrPowerCut until Crash. A k of 0, or one
// not above Ops(), never fires.
func (m *MemFS) SetPowerCutAt(k int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cutAt = k
}

// SetErrorAt makes mutating operation number k fail with err (for example
// syscall.ENOSPC or syscall.EIO) without happening, while the power stays
// on: later operations work. Each call adds one fault; Crash clears them.
func (m *MemFS) SetErrorAt(k int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.errAt == nil {
		m.errAt = map[int]error{}
	}
	m.errAt[k] = err
}

// SetHook sets a function called before every mutating operation that the
// power cut does not stop. If it returns an error the operation does not
// happen and returns that error (wrapped in an *fs.PathError or
// *os.LinkError). It runs with the MemFS locked, so it must not call the
// MemFS. A nil hook removes it; Crash removes it too. Useful both to trace
// operations and to fail, say, every write to one path after the first MiB.
func (m *MemFS) SetHook(hook func(Op) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = hook
}

// Ops returns the number of mutating operations since NewMemFS or the last
// Crash, including one stopped by a fault.
func (m *MemFS) Ops() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops
}

// PoweredOff reports whether the armed power cut has happened (and Crash
// has not been called since).
func (m *MemFS) PoweredOff() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cut
}

// begin counts one mutating operation and returns the fault injected
// there, if any. The caller holds m.mu and wraps the error.
func (m *MemFS) begin(kind OpKind, name, newname string) error {
	if m.cut {
		return ErrPowerCut
	}
	m.ops++
	m.seq++
	if m.ops == m.cutAt {
		m.cut = true
		return ErrPowerCut
	}
	if err, ok := m.errAt[m.ops]; ok {
		return err
	}
	if m.hook != nil {
		return m.hook(Op{N: m.ops, Kind: kind, Path: name, NewPath: newname})
	}
	return nil
}

// alive returns ErrPowerCut after a power cut. Reads call it.
func (m *MemFS) alive() error {
	if m.cut {
		return ErrPowerCut
	}
	return nil
}
