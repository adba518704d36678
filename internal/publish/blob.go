package publish

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/klauspost/compress/zstd"
)

// BlobWindow is the zstd window of every blob: a device needs about this
// much memory to decode one. It was 8 MiB until issue #15: 2 MiB makes a
// 1 GiB fresh install peak at 10 MiB RSS instead of 16, for 0.7-1.4% more
// bytes on files over 2 MiB (a 12 MB executable, a 9 MB source tar).
// Devices decode any window up to 8 MiB, so blobs of either size mix.
const BlobWindow = 2 << 20

// MaxBlobWindow is the largest window of a blob the publisher reads (to
// make deltas from an earlier release's contents): blobs written before
// issue #15 have 8 MiB, which agents accept too.
const MaxBlobWindow = 8 << 20

// blobStore writes content-addressed, compressed blobs into an origin folder.
type blobStore struct {
	origin string
	enc    *zstd.Encoder
	buf    []byte
	prog   *progress
	mu     *sync.Mutex // shared by the stores of one publish: held to check and install a blob
}

func newBlobStore(origin string, prog *progress, mu *sync.Mutex) (*blobStore, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(BlobWindow), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	return &blobStore{origin: origin, enc: enc, buf: make([]byte, 256<<10), prog: prog, mu: mu}, nil
}

func (s *blobStore) path(d manifest.Digest) string {
	return filepath.Join(s.origin, filepath.FromSlash(layout.Blob(d)))
}

// put stores the content r of e, unless its blob exists, and returns the
// manifest entry and whether a new blob was written.
func (s *blobStore) put(ctx context.Context, e Entry, r io.Reader) (manifest.File, bool, error) {
	f := manifest.File{Path: e.Path, Mode: e.Mode, Size: e.Size}
	var known manifest.Digest
	if rs, ok := r.(io.ReadSeeker); ok {
		h := sha256.New()
		if err := s.copy(ctx, e, h, rs, &s.prog.hashed); err != nil {
			return f, false, err
		}
		known = manifest.Digest(h.Sum(nil))
		if zsize, ok := s.exists(known); ok {
			f.SHA256, f.ZSize = known, zsize
			return f, false, nil
		}
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			return f, false, fmt.Errorf("rewind %q: %w", e.Path, err)
		}
	}
	tmp, d, zsize, err := s.compress(ctx, e, r)
	if err != nil {
		return f, false, err
	}
	defer os.Remove(tmp) // fails harmlessly after the rename
	if known != (manifest.Digest{}) && known != d {
		return f, false, fmt.Errorf("%w: %q", ErrChanged, e.Path)
	}
	f.SHA256, f.ZSize = d, zsize
	s.mu.Lock() // another worker may be storing the same content
	defer s.mu.Unlock()
	if zsize, ok := s.exists(d); ok {
		f.ZSize = zsize
		return f, false, nil
	}
	return f, true, s.install(tmp, d)
}

// exists reports whether the blob of d is on the origin, and its size.
func (s *blobStore) exists(d manifest.Digest) (int64, bool) {
	info, err := os.Stat(s.path(d))
	if err != nil || !info.Mode().IsRegular() {
		return 0, false
	}
	return info.Size(), true
}

// compress streams r through SHA-256 and zstd into a synced temporary file
// and returns its name, the content's digest and the compressed size.
func (s *blobStore) compress(ctx context.Context, e Entry, r io.Reader) (string, manifest.Digest, int64, error) {
	var d manifest.Digest
	tmpDir := filepath.Join(s.origin, "blobs", "sha256")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return "", d, 0, err
	}
	tmp, err := os.CreateTemp(tmpDir, ".tmp-*")
	if err != nil {
		return "", d, 0, err
	}
	h := sha256.New()
	s.enc.Reset(tmp)
	err = s.copy(ctx, e, s.enc, io.TeeReader(r, h), &s.prog.packed)
	if cerr := s.enc.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = tmp.Sync()
	}
	info, serr := tmp.Stat()
	if cerr := tmp.Close(); err == nil {
		err = errors.Join(serr, cerr)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", d, 0, fmt.Errorf("compress %q: %w", e.Path, err)
	}
	return tmp.Name(), manifest.Digest(h.Sum(nil)), info.Size(), nil
}

// install renames a synced temporary file to the blob path of d and syncs
// the folders it changed.
func (s *blobStore) install(tmp string, d manifest.Digest) error {
	dst := s.path(d)
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("store blob %s: %w", d, err)
	}
	return syncDir(dir)
}

// copy copies exactly e.Size bytes of r to w, checking ctx and reporting
// progress between chunks.
func (s *blobStore) copy(ctx context.Context, e Entry, w io.Writer, r io.Reader, counter *int64) error {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := r.Read(s.buf)
		if m > 0 {
			n += int64(m)
			if n > e.Size {
				return fmt.Errorf("%w: %q grew past %d bytes", ErrChanged, e.Path, e.Size)
			}
			if _, werr := w.Write(s.buf[:m]); werr != nil {
				return werr
			}
			s.prog.read(counter, int64(m))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if n != e.Size {
		return fmt.Errorf("%w: %q has %d bytes, expected %d", ErrChanged, e.Path, n, e.Size)
	}
	return nil
}
