package manifest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// maxHeader bounds the header a Scanner reads (every line before "files").
const maxHeader = 1 << 20

// maxLine is the longest line a Scanner reads: a file line is at most
// about 1,200 bytes (MaxPathLen), a header line of a key this package
// does not know may be longer, up to this; ParseManifest has no such cap.
const maxLine = 16 << 10

// Scanner reads a manifest's text one file line at a time, with every check
// ParseManifest makes (limits, path rules, order, a path that is both a file
// and a folder), so that a release of many files is never held in memory:
// what it holds is one line and the paths that are prefixes of the last one.
// The header is read and checked by NewScanner.
type Scanner struct {
	Header *Manifest // the header's fields; Files is nil
	Count  int       // the files line's count

	r        *bufio.Reader
	lim      Limits
	n, line  int
	total    int64
	file     File
	prefixes []string // earlier paths that are prefixes of the last one, shortest first
	unsigned bool
	err      error
	done     bool
}

// NewScanner reads and checks the header of the manifest text r holds, up to
// its files line, enforcing lim.
func NewScanner(r io.Reader, lim Limits) (*Scanner, error) {
	lim = lim.orDefault()
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < maxLine {
		br = bufio.NewReaderSize(r, maxLine)
	}
	var hb []byte
	for {
		l, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull || len(hb)+len(l) > maxHeader {
			return nil, fmt.Errorf("%w: header line %d is too long", ErrFormat, bytes.Count(hb, []byte("\n"))+1)
		}
		hb = append(hb, l...)
		if err != nil || bytes.HasPrefix(l, []byte("files ")) {
			break
		}
	}
	m, err := ParseManifestHeader(hb, lim)
	if err != nil {
		return nil, err
	}
	hdr, _, _ := parseHeader(hb, manifestMagic, "files")
	count, err := strconv.Atoi(hdr.values["files"])
	if err != nil || count < 0 {
		return nil, fmt.Errorf("%w: line %d: files count %q", ErrFormat, hdr.lines["files"], hdr.values["files"])
	}
	if count > lim.MaxFiles {
		return nil, fmt.Errorf("%w: %d files, limit is %d (raise max_files)", ErrTooLarge, count, lim.MaxFiles)
	}
	return &Scanner{Header: m, Count: count, r: br, lim: lim, line: hdr.lines["files"]}, nil
}

// Next reads the next file line. It returns false at the end of the text or
// on an error (Err).
func (s *Scanner) Next() bool {
	if s.err != nil || s.done {
		return false
	}
	l, err := s.r.ReadSlice('\n')
	switch {
	case len(l) == 0 && err == io.EOF:
		s.done = true
		if s.n != s.Count {
			s.err = fmt.Errorf("%w: %d file lines, header declares %d", ErrFormat, s.n, s.Count)
		}
		return false
	case err == io.EOF:
		s.err = fmt.Errorf("%w: does not end with a newline", ErrFormat)
		return false
	case err == bufio.ErrBufferFull:
		s.err = fmt.Errorf("%w: line %d is too long", ErrFormat, s.line+1)
		return false
	case err != nil:
		s.err = fmt.Errorf("read manifest: %w", err)
		return false
	}
	s.line++
	if s.n == s.Count {
		s.err = fmt.Errorf("%w: line %d: more file lines than the declared %d", ErrFormat, s.line, s.Count)
		return false
	}
	f, err := parseFileLine(string(l[:len(l)-1]))
	if err != nil {
		s.err = fmt.Errorf("line %d: %w", s.line, err)
		return false
	}
	if s.err = s.check(f); s.err != nil {
		return false
	}
	s.n++
	s.file = f
	return true
}

// check is Manifest.check for one more file.
func (s *Scanner) check(f File) error {
	if s.n > 0 && s.file.Path >= f.Path {
		return fmt.Errorf("%w: path %q is out of order or repeated", ErrFormat, f.Path)
	}
	if f.Size > s.lim.MaxFileSize {
		return fmt.Errorf("%w: %q is %d bytes, limit is %d (raise max_file_mb)", ErrTooLarge, f.Path, f.Size, s.lim.MaxFileSize)
	}
	if s.total += f.Size; s.total > s.lim.MaxTotalSize {
		return fmt.Errorf("%w: release is at least %d bytes, limit is %d (raise max_total_mb)", ErrTooLarge, s.total, s.lim.MaxTotalSize)
	}
	if f.GitSHA1 != ([20]byte{}) || f.SHA256 == (Digest{}) {
		s.unsigned = true
	}
	// In sorted order the paths with a given prefix are contiguous: the
	// earlier paths that are prefixes of this one are a stack.
	for len(s.prefixes) > 0 && !strings.HasPrefix(f.Path, s.prefixes[len(s.prefixes)-1]) {
		s.prefixes = s.prefixes[:len(s.prefixes)-1]
	}
	for _, p := range s.prefixes {
		if f.Path[len(p)] == '/' {
			return fmt.Errorf("%w: %q is a file and also a folder of %q", ErrPath, p, f.Path)
		}
	}
	s.prefixes = append(s.prefixes, f.Path)
	return nil
}

// File returns the file Next read.
func (s *Scanner) File() File { return s.file }

// Err returns the error that stopped Next, if any.
func (s *Scanner) Err() error { return s.err }

// Signed reports, once Next returned false without error, whether every
// file has a SHA-256 (Manifest.Signed).
func (s *Scanner) Signed() bool { return !s.unsigned }

// ScanAll reads the rest of the text, checking every line, and returns
// Err.
func (s *Scanner) ScanAll() error {
	for s.Next() {
	}
	return s.Err()
}

// Related picks the base RelatedBase picks, from files given one at a time
// (in path order): for a manifest that is read, not held.
type Related struct {
	p, ext  string
	best    File
	bestLen int
	found   bool
}

// NewRelated starts the pick of a base for path p.
func NewRelated(p string) *Related { return &Related{p: p, ext: path.Ext(p), bestLen: -1} }

// Path returns the path a base is picked for.
func (r *Related) Path() string { return r.p }

// Consider weighs one file of the installed manifest.
func (r *Related) Consider(f File) {
	if f.Size == 0 || f.Size > RelatedMaxSize || path.Ext(f.Path) != r.ext {
		return
	}
	n := 0
	for n < len(r.p) && n < len(f.Path) && r.p[n] == f.Path[n] {
		n++
	}
	if n > r.bestLen || n == r.bestLen && f.Size > r.best.Size {
		r.best, r.bestLen, r.found = f, n, true
	}
}

// Base returns the pick.
func (r *Related) Base() (File, bool) { return r.best, r.found }
