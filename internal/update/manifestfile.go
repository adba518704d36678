package update

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// manifestNote is the manifest note being fetched, in the downloads folder;
// install.Release.DocumentFile moves it into the state folder.
const manifestNote = "manifest.note"

// fetchManifest gets the manifest note p names, from the bundle, a patch of
// the installed one, or whole, into a file of the downloads folder dl, and
// verifies it there: SHA-256, signatures and every line, each read through
// once (the note of a release of many files is never held in memory). It
// returns the file and the manifest's header (Files nil).
func (o *Options) fetchManifest(ctx context.Context, keys *trust.Verifiers, p *manifest.Pointer, rec *install.Record, dl string, res *Result) (string, *manifest.Manifest, error) {
	path := layout.Manifest(p.Version)
	max := o.MaxManifestSize
	if max <= 0 {
		max = 32 << 20
	}
	if p.ManifestSize > max {
		return "", nil, fmt.Errorf("%w: %s is %d bytes, limit is %d (raise max_manifest_kb)", manifest.ErrTooLarge, path, p.ManifestSize, max)
	}
	file := filepath.Join(dl, manifestNote)
	var n int64
	ok := false
	if o.Budget == nil || o.Budget.Free() {
		n, ok = o.manifestByBundle(ctx, p, rec, dl, file)
		res.Downloaded += n
	}
	if !ok {
		n, ok = o.manifestByPatch(ctx, p, rec, file)
		res.Downloaded += n
	}
	if !ok {
		n, err := o.download(ctx, path, file, p.ManifestSize)
		res.Downloaded += n
		if errors.Is(err, origin.ErrTooLarge) {
			return "", nil, fmt.Errorf("%w: %s is larger than the %d bytes the signed channel pointer names", ErrMismatch, path, p.ManifestSize)
		}
		if err != nil {
			return "", nil, fmt.Errorf("fetch manifest %s: %w", path, err)
		}
	}
	m, err := o.checkManifest(file, path, keys, p)
	if err != nil {
		return "", nil, err
	}
	return file, m, nil
}

// checkManifest verifies the manifest note in file (from the origin's
// path) against the pointer p and the keys, and returns its header.
func (o *Options) checkManifest(file, path string, keys *trust.Verifiers, p *manifest.Pointer) (*manifest.Manifest, error) {
	f, err := o.Installer.FS.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.CopyBuffer(h, f, make([]byte, 32<<10))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if manifest.Digest(h.Sum(nil)) != p.Manifest {
		return nil, fmt.Errorf("%w: %s does not have the SHA-256 the signed channel pointer names", ErrMismatch, path)
	}
	text, err := keys.VerifyFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := manifest.NewScanner(io.NewSectionReader(f, 0, text), o.Limits)
	if err == nil {
		err = s.ScanAll()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := s.Header
	switch {
	case !s.Signed():
		return nil, fmt.Errorf("%w: %s lists files without a SHA-256", ErrMismatch, path)
	case m.Channel != p.Channel || m.Version != p.Version || m.Sequence > p.Sequence:
		return nil, fmt.Errorf("%w: %s is %s %s #%d, the pointer says %s %s #%d", ErrMismatch, path, m.Channel, m.Version, m.Sequence, p.Channel, p.Version, p.Sequence)
	case o.now().After(m.Expires):
		return nil, fmt.Errorf("%w: %s expired %s", ErrFrozen, path, m.Expires.Format(time.RFC3339))
	}
	return m, nil
}

// noteFiles reads the files of a verified manifest note in a file, line by
// line.
type noteFiles struct {
	*manifest.Scanner
	f vfs.File
}

// openNote opens the manifest note in file (verified before: a stored copy,
// or one checkManifest passed) for reading its files.
func openNote(fsys vfs.FS, file string, lim manifest.Limits) (*noteFiles, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	var text int64
	if err == nil {
		text, err = trust.NoteTextSize(f, fi.Size())
	}
	var s *manifest.Scanner
	if err == nil {
		s, err = manifest.NewScanner(io.NewSectionReader(f, 0, text), lim)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &noteFiles{Scanner: s, f: f}, nil
}

// Close closes the note's file.
func (n *noteFiles) Close() error { return n.f.Close() }
