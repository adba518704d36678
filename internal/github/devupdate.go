package github

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
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

// rawFetcher is an install.Fetcher over OpenRaw at one commit.
type rawFetcher struct {
	c      *Client
	commit string
}

// Fetch implements install.Fetcher. There are no deltas on this channel.
func (f rawFetcher) Fetch(ctx context.Context, file manifest.File, _ *install.Old, out install.Sink) error {
	w, err := out()
	if err != nil || file.Size == 0 {
		return err
	}
	rc, err := f.c.OpenRaw(ctx, f.commit, file.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("github: raw file %q: %w", file.Path, err)
	}
	return nil
}
