package publish

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/boardzlib"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/klauspost/compress/zstd"
)

// ErrZlibTooLarge means a .z blob came out over layout.ZlibCap: a board
// would refuse it.
var ErrZlibTooLarge = errors.New("zlib blob over layout.ZlibCap")

// EncodeZlib writes src to dst as a zlib stream with a board's window
// (boardzlib.Encode) and returns the bytes written.
func EncodeZlib(dst io.Writer, src io.Reader) (int64, error) { return boardzlib.Encode(dst, src) }

// Zlib writes the .z blobs of MicroPython boards (layout.ZBlob) from the
// origin's .zst blobs. Made by WithZlib; the counters are for the report.
type Zlib struct {
	Made       int   // .z blobs written
	Bytes      int64 // their bytes
	Patches    int   // .mpatch patches written (files' and manifest notes')
	PatchBytes int64 // their bytes
	// Bundles counts the MicroPython update bundles written (.mbundle),
	// BundleBytes their bytes, BundlesSkipped those not worth keeping.
	Bundles, BundlesSkipped int
	BundleBytes             int64
	// Notes are more base manifest notes for the manifest patches besides
	// the channel's previous one: those of the previous --deltas releases
	// (Deltas.Notes).
	Notes [][]byte
}

// WithZlib returns hooks that write the .z blob of every file of the
// release (unless it exists) once its .zst blob is on the origin, then run
// h's File hook, and the manifest note's patches (Manifest) before h's
// Manifest hook; the pointer is written after, so a board never sees a
// release whose .z blobs are missing.
func (z *Zlib) WithZlib(h Hooks) Hooks {
	h = z.withNotePatch(h)
	next := h.File
	h.File = func(ctx context.Context, origin string, f manifest.File, prev *manifest.Manifest) error {
		if err := z.File(ctx, origin, f); err != nil {
			return err
		}
		if err := z.Patch(origin, f, prev); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, origin, f, prev)
		}
		return nil
	}
	return h
}

// File writes the .z blob of f's content unless it is on the origin.
func (z *Zlib) File(ctx context.Context, origin string, f manifest.File) error {
	dst := filepath.Join(origin, filepath.FromSlash(layout.ZBlob(f.SHA256)))
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := os.Open(filepath.Join(origin, filepath.FromSlash(layout.Blob(f.SHA256))))
	if err != nil {
		return fmt.Errorf("zlib blob of %q: %w", f.Path, err)
	}
	defer src.Close()
	dec, err := zstd.NewReader(bufio.NewReader(src), zstd.WithDecoderMaxWindow(BlobWindow), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	n, err := writeZlib(dst, dec, f)
	if err != nil {
		return fmt.Errorf("zlib blob of %q: %w", f.Path, err)
	}
	z.Made++
	z.Bytes += n
	return nil
}

// writeZlib encodes r (f's content) into a temporary file beside dst,
// checks it, and renames it to dst.
func writeZlib(dst string, r io.Reader, f manifest.File) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	bw := bufio.NewWriterSize(tmp, 64<<10)
	h := sha256.New()
	n, err := EncodeZlib(bw, io.TeeReader(r, h))
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && manifest.Digest(h.Sum(nil)) != f.SHA256 {
		err = fmt.Errorf("the .zst blob does not hold content %s", f.SHA256)
	}
	if err == nil && n > layout.ZlibCap(f.Size) {
		err = fmt.Errorf("%w: %d bytes for %d", ErrZlibTooLarge, n, f.Size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return n, os.Rename(tmp.Name(), dst)
}

// Release writes the missing .z blobs, and manifest patches from z.Notes,
// of the release version already on the origin (its manifest verified with
// ring): for a publish run again with --for micropython, where the pipeline
// writes nothing and runs no hook.
func (z *Zlib) Release(ctx context.Context, origin, version string, ring *keys.Ring, now time.Time) error {
	m, s, err := readManifest(origin, version, ring, now)
	if err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("release %q: no manifest on the origin", version)
	}
	for _, f := range m.Files {
		if err := z.File(ctx, origin, f); err != nil {
			return err
		}
	}
	return z.Manifest(ctx, origin, z.Notes, s.note)
}

// Patch writes the MicroPython patch (layout.MPatch) to f's content from
// the content at the same path in prev, when there is one, it differs, and
// the patch is at most 3/4 of f's .z blob.
func (z *Zlib) Patch(origin string, f manifest.File, prev *manifest.Manifest) error {
	if prev == nil || f.Size > DefaultDeltaMaxFile {
		return nil
	}
	of, ok := prev.Lookup(f.Path)
	if !ok || of.SHA256 == f.SHA256 || of.Size == 0 || of.Size > DefaultDeltaMaxFile || exists(origin, layout.MPatch(of.SHA256, f.SHA256)) {
		return nil
	}
	info, err := os.Stat(filepath.Join(origin, filepath.FromSlash(layout.ZBlob(f.SHA256))))
	if err != nil {
		return err
	}
	old, err := readBlob(origin, of.SHA256)
	if err != nil {
		return fmt.Errorf("micropython patch of %q: %w", f.Path, err)
	}
	cur, err := readBlob(origin, f.SHA256)
	if err != nil {
		return fmt.Errorf("micropython patch of %q: %w", f.Path, err)
	}
	p, err := MakeMPatch(old, cur)
	if err != nil || int64(len(p)) > info.Size()*3/4 {
		return err
	}
	if err := writeAtomic(origin, layout.MPatch(of.SHA256, f.SHA256), p); err != nil {
		return err
	}
	z.Patches++
	z.PatchBytes += int64(len(p))
	return nil
}
