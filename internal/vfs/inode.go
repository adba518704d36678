package vfs

import (
	"bytes"
	"io/fs"
	"maps"
	"slices"
)

// state is what an inode holds at one instant: either what a process sees
// now (inode.cur) or what is on the platter (inode.dur).
type state struct {
	mode    fs.FileMode       // type and permission bits
	mtime   int64             // logical clock tick of the last change
	data    []byte            // content of a regular file (never nil)
	entries map[string]*inode // names in a directory (nil for files)
}

// clone returns a copy of s that shares nothing mutable with it.
func (s state) clone() state {
	c := s
	if s.data != nil {
		c.data = bytes.Clone(s.data)
	}
	if s.entries != nil {
		c.entries = maps.Clone(s.entries)
	}
	return c
}

// share returns a copy of s whose data aliases s's, capped so that
// growing it reallocates; entries are copied.
func (s state) share() state {
	c := s
	c.data = s.data[:len(s.data):len(s.data)]
	if s.entries != nil {
		c.entries = maps.Clone(s.entries)
	}
	return c
}

// inode is a file or a directory. Its names live in directory entries, so
// hard links are several entries pointing at one inode.
type inode struct {
	cur state
	dur state
	// log is every change since the last sync, oldest first. Replaying a
	// prefix of it onto dur gives each state the inode went through, which
	// is how KeepRandom crashes stay consistent.
	log []record
	// frozen is how many leading bytes of cur.data are shared with dur or
	// with a clone (copy on write): a write below it copies cur.data first,
	// so appends after each Sync cost no copy.
	frozen int
}

func newInode(mode fs.FileMode, tick int64) *inode {
	s := state{mode: mode, mtime: tick}
	if mode.IsDir() {
		s.entries = map[string]*inode{}
	} else {
		s.data = []byte{}
	}
	return &inode{cur: s, dur: s.share()}
}

func (n *inode) isDir() bool { return n.cur.mode.IsDir() }

// sync makes the current state durable.
func (n *inode) sync() {
	n.dur = n.cur.share()
	n.frozen = len(n.cur.data)
	n.log = nil
}

// set makes s both the current and the durable state, with no history.
func (n *inode) set(s state) {
	n.cur = s
	n.sync()
}

// write applies a logged change to the current state, copying shared
// data first if the change would write into it.
func (n *inode) write(r record) {
	if r.kind == recWrite && r.off < int64(n.frozen) {
		n.cur.data = bytes.Clone(n.cur.data)
		n.frozen = 0
	}
	n.cur.apply(r)
	n.log = append(n.log, r)
}

// recKind is the kind of one logged change.
type recKind uint8

const (
	recWrite recKind = iota // write data at off
	recTrunc                // truncate to zero length
	recChmod                // set permission bits to mode
	recSet                  // entries[name] = child
	recDel                  // delete(entries, name)
)

// record is one change to an inode; seq orders it among all changes.
type record struct {
	kind  recKind
	seq   uint64
	mtime int64
	off   int64
	data  []byte
	mode  fs.FileMode
	name  string
	child *inode
}

// apply makes the change r to s. Data in r is copied, never aliased. It
// writes into s.data in place: see inode.write.
func (s *state) apply(r record) {
	switch r.kind {
	case recWrite:
		s.data = writeAt(s.data, r.off, r.data)
	case recTrunc:
		s.data = []byte{}
	case recChmod:
		s.mode = s.mode.Type() | r.mode.Perm()
		return // chmod changes ctime, not mtime
	case recSet:
		s.entries[r.name] = r.child
	case recDel:
		delete(s.entries, r.name)
	}
	s.mtime = r.mtime
}

// writeAt writes p into b at off, growing b with zeros as needed.
func writeAt(b []byte, off int64, p []byte) []byte {
	if end := int(off) + len(p); end > len(b) {
		old := len(b)
		b = slices.Grow(b, end-old)[:end]
		clear(b[old:])
	}
	copy(b[off:], p)
	return b
}

// replay returns dur with the first n logged changes applied.
func (n *inode) replay(count int) state {
	s := n.dur.clone()
	for _, r := range n.log[:count] {
		s.apply(r)
	}
	return s
}

// cloneGraph deep-copies every inode reachable from root through current
// entries, durable entries and logged changes. memo maps old to new.
func cloneGraph(n *inode, memo map[*inode]*inode) *inode {
	if c, ok := memo[n]; ok {
		return c
	}
	n.frozen = len(n.cur.data)
	c := &inode{cur: n.cur.share(), dur: n.dur.share(), log: slices.Clone(n.log), frozen: n.frozen}
	memo[n] = c
	for name, child := range c.cur.entries {
		c.cur.entries[name] = cloneGraph(child, memo)
	}
	for name, child := range c.dur.entries {
		c.dur.entries[name] = cloneGraph(child, memo)
	}
	for i, r := range c.log {
		if r.child != nil {
			c.log[i].child = cloneGraph(r.child, memo)
		}
	}
	return c
}
