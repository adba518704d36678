package update

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferry-ota/ferry/internal/bundle"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
)

// Suffixes of the files a bundle leaves in the downloads folder: the
// bundle itself, a content being decoded, and a decoded content by digest.
const (
	bundlePart   = "bundle.part"
	bundleTmp    = ".bundle-tmp"
	stagedSuffix = ".content"
)

// manifestByBundle fetches the update bundle from the installed release to
// the one p names, decodes it into the downloads folder dl (one file per
// content, named by its SHA-256, which the blob fetcher takes before any
// download), and writes the manifest note it made, whose SHA-256 Apply has
// checked against the pointer's, to file. It reports false whenever the
// per-file path should be taken instead; then it leaves nothing behind.
// The installed note is held (it is the bundle's dictionary), not parsed:
// the bases are found by reading its lines.
func (o *Options) manifestByBundle(ctx context.Context, p *manifest.Pointer, rec *install.Record, dl, file string) (int64, bool) {
	if rec == nil {
		return 0, false
	}
	in := o.Installer
	path := layout.Bundle(rec.Manifest, p.Manifest)
	part := filepath.Join(dl, bundlePart)
	defer in.FS.Remove(part)
	n, err := o.download(ctx, path, part, bundle.MaxSize(p.ManifestSize))
	switch {
	case errors.Is(err, origin.ErrNotFound):
		return n, false
	case err != nil:
		o.log().Info("bundle unavailable, fetching the manifest and files one by one", "path", path, "err", err)
		return n, false
	}
	// Only now, with a bundle to decode, is the installed note read into
	// memory (it is the bundle's dictionary).
	oldDoc, err := in.InstalledDocument(rec)
	if err != nil {
		return n, false
	}
	old, err := oldNote(oldDoc, o.Limits)
	if err != nil {
		return n, false
	}
	old.Content = o.baseContent
	res, err := o.applyBundle(ctx, part, dl, file, old, p)
	if err != nil {
		if ctx.Err() == nil {
			o.log().Warn("bundle failed, fetching the manifest and files one by one", "path", path, "err", err)
		}
		removeStaged(in, dl)
		return n, false
	}
	o.log().Info("manifest and files made from a bundle", "bundle_bytes", n, "files", len(res.Files))
	return n, true
}

// oldNote describes the installed note to a bundle: its file count, and its
// bases found by reading its lines (a verified, stored note).
func oldNote(doc []byte, lim manifest.Limits) (bundle.Old, error) {
	text, err := trust.NoteText(doc)
	if err != nil {
		return bundle.Old{}, err
	}
	s, err := manifest.NewScanner(bytes.NewReader(text), lim)
	if err != nil {
		return bundle.Old{}, err
	}
	bases := func(idx []int) ([]manifest.File, error) {
		s, err := manifest.NewScanner(bytes.NewReader(text), lim)
		if err != nil {
			return nil, err
		}
		out := make([]manifest.File, 0, len(idx))
		for i := 0; len(out) < len(idx) && s.Next(); i++ {
			if i == idx[len(out)] {
				out = append(out, s.File())
			}
		}
		if len(out) < len(idx) {
			return nil, cmp.Or(s.Err(), fmt.Errorf("base %d is past the installed manifest's files", idx[len(out)]))
		}
		return out, nil
	}
	return bundle.Old{Note: doc, Files: s.Count, Bases: bases}, nil
}

// download fetches path whole into the file part, at most max bytes, with
// retries.
func (o *Options) download(ctx context.Context, path, part string, max int64) (int64, error) {
	w, err := o.Installer.FS.Create(part, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := origin.Download(ctx, o.Source, origin.Request{Path: path, MaxSize: max}, w, 0, o.Retry)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// applyBundle decodes the bundle in part, the note into file, then names
// each decoded content by its digest.
func (o *Options) applyBundle(ctx context.Context, part, dl, file string, old bundle.Old, p *manifest.Pointer) (*bundle.Result, error) {
	fsys := o.Installer.FS
	r, err := fsys.Open(part)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	note, err := fsys.Create(file, 0o600)
	if err != nil {
		return nil, err
	}
	defer note.Close()
	k := 0
	out := func(manifest.File) (io.WriteCloser, error) {
		k++
		return fsys.Create(filepath.Join(dl, strconv.Itoa(k)+bundleTmp), 0o600)
	}
	want := bundle.Want{Digest: p.Manifest, NoteSize: p.ManifestSize, MaxFiles: o.Limits.MaxFiles, NoteOut: note}
	if want.MaxFiles <= 0 {
		want.MaxFiles = manifest.DefaultLimits.MaxFiles
	}
	res, err := bundle.Apply(ctx, bufio.NewReaderSize(r, 32<<10), old, want, out)
	if err != nil {
		return nil, err
	}
	for i, f := range res.Files {
		if err := fsys.Rename(filepath.Join(dl, strconv.Itoa(i+1)+bundleTmp), filepath.Join(dl, f.SHA256.String()+stagedSuffix)); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// baseContent reads an installed file for a bundle's dictionary, checked
// against the digest the installed manifest gives it.
func (o *Options) baseContent(f manifest.File) ([]byte, error) {
	in := o.Installer
	name := filepath.Join(in.Target, filepath.FromSlash(f.Path))
	r, err := in.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data := make([]byte, f.Size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if n, _ := r.Read(make([]byte, 1)); n > 0 || manifest.Digest(sha256.Sum256(data)) != f.SHA256 {
		return nil, fmt.Errorf("%s was changed since it was installed", name)
	}
	return data, nil
}

// removeStaged removes what bundles left in the downloads folder.
func removeStaged(in *install.Installer, dl string) {
	es, err := in.FS.ReadDir(dl)
	if err != nil {
		return
	}
	for _, e := range es {
		if n := e.Name(); n == bundlePart || n == manifestNote || n == manifestNote+".patch" || strings.HasSuffix(n, bundleTmp) || strings.HasSuffix(n, stagedSuffix) {
			in.FS.Remove(filepath.Join(dl, n))
		}
	}
}

// fetchStaged copies f's content from what a bundle decoded, if it holds
// it. It reports false, with no error, when the blob fetcher should go on
// as if there were no bundle.
func (b *blobFetcher) fetchStaged(f manifest.File, out install.Sink) (bool, error) {
	name := filepath.Join(b.dir, f.SHA256.String()+stagedSuffix)
	r, err := b.fs.Open(name)
	if err != nil {
		return false, nil
	}
	defer b.fs.Remove(name)
	defer r.Close()
	w, err := out()
	if err != nil {
		return false, err
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(w, h), r, b.buf); err != nil {
		b.log.Warn("content from the bundle unreadable, fetching it", "path", f.Path, "err", err)
		return false, nil
	}
	if manifest.Digest(h.Sum(nil)) != f.SHA256 {
		b.log.Warn("content from the bundle changed on disk, fetching it", "path", f.Path)
		return false, nil
	}
	b.bundled++
	return true, nil
}
