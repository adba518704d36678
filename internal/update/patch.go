package update

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/delta"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
)

// fetchPatch tries to make f's content from the old content on disk and the
// patch layout.Delta(old, new). It reports false, with no error, whenever the
// full blob should be fetched instead: no patch on the origin, a patch no
// smaller than the blob, or any failure to download, apply or verify it (the
// installer's verifying writer checks the result against the signed hash).
func (b *blobFetcher) fetchPatch(ctx context.Context, f manifest.File, old *install.Old, out install.Sink) (bool, error) {
	path := layout.Delta(old.SHA256, f.SHA256)
	part := filepath.Join(b.dir, old.SHA256.String()+"-"+f.SHA256.String()+".patch.part")
	defer b.fs.Remove(part)
	w, err := b.fs.Create(part, 0o600)
	if err != nil {
		return false, err
	}
	// Patches are small: no resume, but the same retries.
	n, err := origin.Download(ctx, b.src, origin.Request{Path: path, MaxSize: f.ZSize - 1}, w, 0, b.retry)
	w.Close()
	b.downloaded += n
	switch {
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.Is(err, origin.ErrNotFound):
		return false, nil
	case err != nil:
		b.log.Info("patch unavailable, fetching the whole file", "path", f.Path, "err", err)
		return false, nil
	}
	r, err := b.fs.Open(part)
	if err != nil {
		return false, err
	}
	defer r.Close()
	dst, err := out()
	if err != nil {
		return false, err
	}
	if _, err := delta.Apply(ctx, old.Data, old.Size, bufio.NewReaderSize(r, 32<<10), dst, f.Size); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		b.log.Warn("patch failed, fetching the whole file", "path", f.Path, "err", err)
		return false, nil
	}
	b.patched++
	return true, nil
}

// manifestByPatch makes the new manifest note, into file, from the
// installed one (read from its stored file, not into memory) and a patch,
// and accepts it only if its SHA-256 is the one the verified pointer names.
// The signatures are verified afterwards as for a downloaded note.
func (o *Options) manifestByPatch(ctx context.Context, p *manifest.Pointer, rec *install.Record, file string) (int64, bool) {
	if rec == nil {
		return 0, false
	}
	in := o.Installer
	old, err := in.FS.Open(in.DocumentPath(rec.Manifest))
	if err != nil {
		return 0, false
	}
	defer old.Close()
	fi, err := old.Stat()
	if err != nil {
		return 0, false
	}
	// The patch goes to a file too: it may be as large as the note.
	part := file + ".patch"
	defer in.FS.Remove(part)
	n, err := o.download(ctx, layout.Delta(rec.Manifest, p.Manifest), part, p.ManifestSize)
	if err != nil {
		return n, false
	}
	patch, err := in.FS.Open(part)
	if err != nil {
		return n, false
	}
	defer patch.Close()
	out, err := in.FS.Create(file, 0o600)
	if err != nil {
		return n, false
	}
	defer out.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(out, h), 32<<10)
	made, err := delta.Apply(ctx, old, fi.Size(), patch, bw, p.ManifestSize)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		o.log().Warn("manifest patch failed, fetching the whole manifest", "err", err)
		return n, false
	}
	if manifest.Digest(h.Sum(nil)) != p.Manifest {
		o.log().Warn("manifest patch made a note the pointer does not name, fetching the whole manifest")
		return n, false
	}
	o.log().Info("manifest made from a patch", "patch_bytes", n, "manifest_bytes", made)
	return n, true
}
