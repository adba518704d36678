package github

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
)

// DevUpdate is one update cycle of the developer channel: DevRelease, then
// the installer's crash-safe transaction with files streamed by OpenRaw. The
// installer checks each file's git blob SHA-1 as it streams, and does not
// download or rewrite a file whose content on disk already has it. An
// unchanged branch head costs one 304 and writes nothing.
//
// The installed document is the manifest's text followed by a blank line: a
// note with no signatures, which the installer's Decode (update.DecodeStored)
// reads like any stored note. It is only ever stored, never trusted as
// signed: Manifest.Signed is false for it.
func (c *Client) DevUpdate(ctx context.Context, in *install.Installer, opt install.Options) (*install.Result, error) {
	m, err := c.DevRelease(ctx)
	if err != nil {
		return nil, err
	}
	return c.InstallUnsigned(ctx, in, m, opt)
}

// UnsignedDocument is the document stored for an unsigned manifest: its text
// and a blank line (a note without signatures). Its SHA-256 names the
// release in the commit record.
func UnsignedDocument(m *manifest.Manifest) ([]byte, error) {
	text, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("github: manifest of %s: %w", m.Version, err)
	}
	return append(text, '\n'), nil
}

// InstallUnsigned installs an unsigned manifest (DevRelease, UnsignedRelease)
// with files streamed by OpenRaw and checked against their git blob SHA-1.
func (c *Client) InstallUnsigned(ctx context.Context, in *install.Installer, m *manifest.Manifest, opt install.Options) (*install.Result, error) {
	doc, err := UnsignedDocument(m)
	if err != nil {
		return nil, err
	}
	rel := install.Release{Manifest: m, Document: doc, Digest: sha256.Sum256(doc)}
	res, err := in.Install(ctx, rel, rawFetcher{c: c, commit: m.Version}, opt)
	if err != nil {
		return nil, fmt.Errorf("github: install %s %s: %w", m.Channel, m.Version, err)
	}
	return res, nil
}

// rawFetcher is an install.Fetcher over the raw files at one commit.
type rawFetcher struct {
	c      *Client
	commit string
}

// Fetch implements install.Fetcher. There are no deltas on this channel.
// The file streams into the installer's verifying writer through
// origin.Download, under the Client's retry policy: a transfer the link
// drops, cuts short or stalls resumes with Range where it stopped (a host
// that ignores Range sends it again from the start, and the bytes already
// written are skipped).
func (f rawFetcher) Fetch(ctx context.Context, file manifest.File, _ *install.Old, out install.Sink) error {
	w, err := out()
	if err != nil || file.Size == 0 {
		return err
	}
	src := rawSource(f)
	req := origin.Request{Path: file.Path, MaxSize: file.Size}
	for have := int64(0); have < file.Size; {
		n, err := origin.Download(ctx, src, req, w, have, f.c.retry)
		have += n
		if err != nil {
			return fmt.Errorf("github: raw file %q: %w", file.Path, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: raw file %q is %d bytes, the tree says %d", ErrProtocol, file.Path, have, file.Size)
		}
	}
	return nil
}

// rawSource is an origin.Source over the raw files at one commit, so that
// they are fetched by the same resumable transfer as every other file.
type rawSource struct {
	c      *Client
	commit string
}

// Fetch implements origin.Source.
func (s rawSource) Fetch(ctx context.Context, req origin.Request) (*origin.Object, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	resp, err := s.c.getRaw(ctx, s.commit, req.Path, req.Offset)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", origin.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	obj := &origin.Object{Size: -1, ETag: resp.Header.Get("ETag")}
	if resp.StatusCode == http.StatusPartialContent {
		start, total, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != req.Offset {
			drain(resp.Body)
			return nil, fmt.Errorf("%w: raw file %q: Content-Range %q for offset %d", ErrProtocol, req.Path, resp.Header.Get("Content-Range"), req.Offset)
		}
		obj.Offset, obj.Size = start, total
	} else if resp.ContentLength >= 0 {
		obj.Size = resp.ContentLength
	}
	want := int64(-1)
	if resp.ContentLength >= 0 {
		want = resp.ContentLength
	}
	obj.Body = &sizedBody{rc: resp.Body, path: req.Path, limit: req.MaxSize - obj.Offset, want: want}
	return obj, nil
}

// contentRange parses "bytes <start>-<end>/<total>"; total is -1 for "*".
func contentRange(v string) (start, total int64, ok bool) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	first, _, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if tot == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	return start, total, err == nil && total > start
}
