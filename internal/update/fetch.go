package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// maxWindow bounds the zstd decoder's history window, and so its memory.
// The publisher compresses with windows no larger than this.
const maxWindow = 8 << 20

// blobFetcher fetches file contents as compressed blobs from an origin. A
// blob is first downloaded to <dir>/<hash>.zst.part, so that an interrupted
// transfer resumes where it stopped (Range), then decompressed through one
// fixed buffer into the installer's verifying writer.
type blobFetcher struct {
	src        origin.Source
	fs         vfs.FS
	dir        string
	retry      origin.RetryPolicy
	log        *slog.Logger
	dec        *zstd.Decoder
	buf        []byte
	downloaded int64
	patched    int // files made from patches
	bundled    int // files taken from a bundle
}

func newBlobFetcher(src origin.Source, fsys vfs.FS, dir string, retry origin.RetryPolicy, log *slog.Logger) (*blobFetcher, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return nil, err
	}
	return &blobFetcher{src: src, fs: fsys, dir: dir, retry: retry, log: log, dec: dec, buf: make([]byte, 64<<10)}, nil
}

func (b *blobFetcher) close() { b.dec.Close() }

// Fetch implements install.Fetcher.
func (b *blobFetcher) Fetch(ctx context.Context, f manifest.File, old *install.Old, out install.Sink) error {
	if f.Size == 0 {
		_, err := out()
		return err
	}
	if ok, err := b.fetchStaged(f, out); ok || err != nil {
		return err
	}
	if old != nil && old.Data != nil && old.SHA256 != (manifest.Digest{}) && f.ZSize > 1 {
		ok, err := b.fetchPatch(ctx, f, old, out)
		if ok || err != nil {
			return err
		}
	}
	part := filepath.Join(b.dir, f.SHA256.String()+".zst.part")
	for attempt := 0; ; attempt++ {
		err := b.fetchBlob(ctx, f, part, out)
		if err == nil || attempt > 0 || !errors.Is(err, errCorruptPart) {
			return err
		}
		// What we held (perhaps torn by a power cut) or received was wrong:
		// start once more from nothing.
		b.log.Warn("blob failed verification, downloading it again", "path", f.Path, "err", err)
	}
}

// errCorruptPart marks a blob that does not match the manifest (wrong size,
// undecodable, wrong hash): it is dropped and fetched once more.
var errCorruptPart = fmt.Errorf("%w: downloaded blob is corrupt", install.ErrChecksum)

func (b *blobFetcher) fetchBlob(ctx context.Context, f manifest.File, part string, out install.Sink) error {
	if err := b.download(ctx, f, part); err != nil {
		return err
	}
	r, err := b.fs.Open(part)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := out()
	if err != nil {
		return err
	}
	if err := b.dec.Reset(r); err != nil {
		return b.corrupt(part, err)
	}
	if _, err := io.CopyBuffer(w, b.dec, b.buf); err != nil {
		return b.corrupt(part, err)
	}
	r.Close()
	if err := b.fs.Remove(part); err != nil {
		return fmt.Errorf("remove %s: %w", part, err)
	}
	return nil
}

// corrupt drops a partial blob that did not decompress or verify.
func (b *blobFetcher) corrupt(part string, cause error) error {
	if err := b.fs.Remove(part); err != nil {
		return errors.Join(cause, err)
	}
	return fmt.Errorf("%w: %w", errCorruptPart, cause)
}

// download completes the partial blob file, resuming from what it holds.
func (b *blobFetcher) download(ctx context.Context, f manifest.File, part string) error {
	w, err := b.fs.OpenAppend(part, 0o600)
	if err != nil {
		return err
	}
	defer w.Close()
	fi, err := w.Stat()
	if err != nil {
		return err
	}
	have := fi.Size()
	if have > f.ZSize {
		return b.corrupt(part, fmt.Errorf("partial blob %s is larger than the signed %d bytes", part, f.ZSize))
	}
	if have == f.ZSize {
		return nil
	}
	if have > 0 {
		b.log.Info("resuming download", "path", f.Path, "have", have, "size", f.ZSize)
	}
	req := origin.Request{Path: layout.Blob(f.SHA256), MaxSize: f.ZSize}
	for have < f.ZSize {
		n, err := origin.Download(ctx, b.src, req, w, have, b.retry)
		have += n
		b.downloaded += n
		if err != nil {
			return fmt.Errorf("download %s: %w", req.Path, err)
		}
		if n == 0 {
			return b.corrupt(part, fmt.Errorf("blob %s is %d bytes, the manifest says %d", req.Path, have, f.ZSize))
		}
		// A body that ended early but cleanly (a Content-Length shorter than
		// the blob): go on from where it stopped.
	}
	return nil
}
