package install

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// Errors callers branch on.
var (
	ErrChecksum   = errors.New("install: content does not match the manifest")
	ErrShort      = errors.New("install: content shorter than the manifest says")
	ErrUnsafePath = errors.New("install: unsafe path")
	ErrConflict   = errors.New("install: path conflict")
	ErrState      = errors.New("install: corrupt state")
	ErrNoTrial    = errors.New("install: no release on trial")
	ErrNoPrevious = errors.New("install: no previous release")
	ErrLayout     = errors.New("install: the target does not have the configured layout")
)

// Sink starts (or restarts) the staged copy of one file and returns the
// writer to stream its content into. Each call discards what an earlier call
// wrote. The writer verifies size and hash as bytes arrive: the write that
// completes a wrong content fails with ErrChecksum.
type Sink func() (io.Writer, error)

// Old describes content already on disk at a path that is being replaced:
// a base for a delta, when the origin has one. Its digest is what the
// previous manifest said; the delta's output is verified anyway.
type Old struct {
	SHA256 manifest.Digest
	Size   int64
	Data   io.ReaderAt
}

// Fetcher gets the content of files. Implementations stream; they may
// resume, retry, or fall back from a delta to a full blob by calling out
// again.
type Fetcher interface {
	Fetch(ctx context.Context, f manifest.File, old *Old, out Sink) error
}

// Release is what Install applies.
type Release struct {
	// Manifest is the release's manifest. Install (in place) reads only its
	// header: the files are read from the stored document, line by line.
	Manifest *manifest.Manifest
	Document []byte // the manifest as published (e.g. a signed note), kept as the delta base for the next one
	// DocumentFile, instead of Document, names a file of FS that holds the
	// document, verified, on the state folder's filesystem: Install moves it
	// into the state folder, and the document is never held in memory.
	DocumentFile string
	Digest       manifest.Digest // SHA-256 of the document
	// Sequence is recorded in the commit record; 0 means the manifest's.
	// (A channel pointer may name the same manifest at a higher sequence.)
	Sequence uint64
}

// Options tune one Install.
type Options struct {
	// Trial keeps the previous release's files until Confirm or Rollback.
	Trial bool
	// Progress, if set, is called after each staged file.
	Progress func(doneFiles, totalFiles int, doneBytes, totalBytes int64)
}

// Result says what an Install did.
type Result struct {
	Old, New                         *Record
	Added, Replaced, Deleted, Chmods int
	Bytes                            int64 // bytes of content staged
	UpToDate                         bool

	rmdirs int // folders removed (counted for the plan only)
}

// Files returns the number of files written, deleted or chmodded.
func (r *Result) Files() int { return r.Added + r.Replaced + r.Deleted + r.Chmods }

// Installer applies releases to Target, keeping its records in State.
type Installer struct {
	FS     vfs.FS
	Target string
	State  string
	// Layout is LayoutInPlace ("" too) or LayoutSlots.
	Layout string
	// Allow reports whether a manifest path is managed; nil manages all.
	Allow func(path string) bool
	// Decode parses a stored manifest document (for the installed manifest).
	Decode func(doc []byte) (*manifest.Manifest, error)
	// Limits caps what is read from a stored manifest document, line by
	// line (manifest.Scanner), when a release is installed in place: the
	// document is the manifest's text, followed by a blank line and
	// anything else (a signed note's signatures, at most 64 KiB), or not.
	Limits manifest.Limits
	Log    *slog.Logger
	Now    func() time.Time

	buf []byte // the one copy buffer; an Installer is not for concurrent use
}

func (in *Installer) buffer() []byte {
	if in.buf == nil {
		in.buf = make([]byte, copyBufSize)
	}
	return in.buf
}

func (in *Installer) txn() string            { return filepath.Join(in.State, "txn") }
func (in *Installer) journalPath() string    { return filepath.Join(in.txn(), "journal.json") }
func (in *Installer) stage(n int) string     { return filepath.Join(in.txn(), "stage", itoa(n)) }
func (in *Installer) backup(n int) string    { return filepath.Join(in.txn(), "backup", itoa(n)) }
func (in *Installer) rollbackMarker() string { return filepath.Join(in.txn(), "rollback") }
func (in *Installer) manifests() string      { return filepath.Join(in.State, "manifests") }
func (in *Installer) manifestDoc(d manifest.Digest) string {
	return filepath.Join(in.manifests(), d.String()+".doc")
}

func (in *Installer) log() *slog.Logger {
	if in.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return in.Log
}

func (in *Installer) now() time.Time {
	if in.Now == nil {
		return time.Now()
	}
	return in.Now()
}

func (in *Installer) allowed(p string) bool { return in.Allow == nil || in.Allow(p) }

// Installed returns the commit record, or nil if nothing is installed.
func (in *Installer) Installed() (*Record, error) { return readRecord(in.FS, in.State) }

// InstalledDocument returns the stored manifest document of rec (a delta
// base for the next manifest).
func (in *Installer) InstalledDocument(rec *Record) ([]byte, error) {
	return readFile(in.FS, in.manifestDoc(rec.Manifest), 1<<30)
}

// DocumentPath returns the file that holds the stored manifest document of
// digest d (InstalledDocument reads it).
func (in *Installer) DocumentPath(d manifest.Digest) string { return in.manifestDoc(d) }

// InstalledManifest returns the installed manifest, or nil if nothing is
// installed.
func (in *Installer) InstalledManifest() (*manifest.Manifest, error) {
	rec, err := in.Installed()
	if err != nil || rec == nil {
		return nil, err
	}
	doc, err := in.InstalledDocument(rec)
	if err != nil {
		return nil, errors.Join(ErrState, err)
	}
	m, err := in.Decode(doc)
	if err != nil {
		return nil, errors.Join(ErrState, err)
	}
	return m, nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
