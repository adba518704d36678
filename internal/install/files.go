package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// manifestFiles reads the files of a stored manifest document one line at a
// time, in path order: a release of any size is never held in memory.
type manifestFiles struct {
	f    vfs.File
	s    *manifest.Scanner
	name string
}

// openManifest opens the stored document of manifest d for reading its
// files. A missing document is fs.ErrNotExist; one that does not parse is
// ErrState.
func (in *Installer) openManifest(d manifest.Digest) (*manifestFiles, error) {
	name := in.manifestDoc(d)
	f, err := in.FS.Open(name)
	if err != nil {
		return nil, err
	}
	mf, err := in.scanDocument(f, name)
	if err != nil {
		f.Close()
		return nil, errors.Join(ErrState, err)
	}
	return mf, nil
}

// scanDocument starts reading the manifest text of the document in f.
func (in *Installer) scanDocument(f vfs.File, name string) (*manifestFiles, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size, err := textSize(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s, err := manifest.NewScanner(io.NewSectionReader(f, 0, size), in.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &manifestFiles{f: f, s: s, name: name}, nil
}

// ManifestHeader reads the header of the stored manifest document of
// digest d (its version, times and agents; Files nil), not its files.
func (in *Installer) ManifestHeader(d manifest.Digest) (*manifest.Manifest, error) {
	m, err := in.openManifest(d)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return m.s.Header, nil
}

// Next reads the next file; false at the end or on an error (Err).
func (m *manifestFiles) Next() bool { return m.s.Next() }

// File returns the file Next read.
func (m *manifestFiles) File() manifest.File { return m.s.File() }

// Err returns the error that stopped Next, as ErrState: the document was
// checked when it was stored.
func (m *manifestFiles) Err() error {
	if err := m.s.Err(); err != nil {
		return errors.Join(ErrState, fmt.Errorf("%s: %w", m.name, err))
	}
	return nil
}

// Close closes the document.
func (m *manifestFiles) Close() error { return m.f.Close() }

// openOld opens the installed manifest of rec, or returns nil when nothing
// is installed or its document is missing (then nothing is lost but the
// list of paths to delete: files the old release had and the new one lacks
// stay behind).
func (in *Installer) openOld(rec *Record) (*manifestFiles, error) {
	if rec == nil {
		return nil, nil
	}
	m, err := in.openManifest(rec.Manifest)
	if errors.Is(err, fs.ErrNotExist) {
		in.log().Warn("the installed manifest is missing from the state folder: files removed from the release will be left in place", "version", rec.Version)
		return nil, nil
	}
	return m, err
}

// cursor walks a manifest's files forward to a path: the staging reads the
// operations in path order and takes each one's entry from the manifests.
type cursor struct {
	m    *manifestFiles
	have bool
	done bool
}

// seek returns the file at path p, if the manifest lists it; p must not be
// before the previous one asked.
func (c *cursor) seek(p string) (manifest.File, bool, error) {
	if c.m == nil {
		return manifest.File{}, false, nil
	}
	for {
		if !c.have && !c.done {
			c.have = c.m.Next()
			c.done = !c.have
			if c.done {
				if err := c.m.Err(); err != nil {
					return manifest.File{}, false, err
				}
			}
		}
		if c.done {
			return manifest.File{}, false, nil
		}
		f := c.m.File()
		switch {
		case f.Path == p:
			return f, true, nil
		case f.Path > p:
			return manifest.File{}, false, nil
		}
		c.have = false
	}
}

// maxSigBlock bounds what may follow a stored manifest's text (a signed
// note's signatures; trust.MaxSigBlock).
const maxSigBlock = 64 << 10

// textSize returns the size of the manifest text at the start of a stored
// document: up to its last blank line, if its last 64 KiB hold one (a
// manifest's text has none), else all of it. It reads the last 4 KiB, and
// the last 64 KiB only if they hold no blank line.
func textSize(r io.ReaderAt, size int64) (int64, error) {
	for _, n := range []int64{4 << 10, maxSigBlock + 2} {
		tail := make([]byte, min(size, n))
		off := size - int64(len(tail))
		if _, err := r.ReadAt(tail, off); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndex(tail, []byte("\n\n")); i >= 0 {
			return off + int64(i) + 1, nil
		}
		if off == 0 {
			break
		}
	}
	return size, nil
}
