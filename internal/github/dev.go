package github

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// DevChannel is the channel name of manifests made from a branch head.
const DevChannel = "developer"

// devExpires is the expiry of an unsigned manifest: it never expires, as
// nothing signs it (freeze attacks are a concern of signed channels).
var devExpires = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// manifestAtCommit is the last manifest built for a channel.
type manifestAtCommit struct {
	commit string
	m      manifest.Manifest
}

// DevRelease returns the manifest of the head of the configured branch: the
// files of its tree below subdir (with subdir stripped) that the Allow filter
// accepts, each with its git blob SHA-1 (File.GitSHA1; SHA256 stays zero),
// size, and mode 0755 for a git mode of 100755, else 0644. Nothing is
// downloaded for a file the filter drops. Version is the commit's first 12
// hex digits, Sequence is 0 (branches have no order Ferry could trust), and
// Expires is 9999-12-31: the manifest is unsigned, its trust is TLS and
// git's SHA-1. Symbolic links and submodules are skipped with a warning.
//
// The branch ref is fetched conditionally: when the head is unchanged it is
// one 304 and the manifest of the last call is returned again.
func (c *Client) DevRelease(ctx context.Context) (*manifest.Manifest, error) {
	head, _, err := c.BranchHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("github: developer channel: %w", err)
	}
	return c.DevReleaseAt(ctx, head)
}

// DevReleaseAt is DevRelease for a head commit the caller already has (from
// BranchHead), so that a cycle asks for the branch ref once.
func (c *Client) DevReleaseAt(ctx context.Context, head string) (*manifest.Manifest, error) {
	if len(head) < 12 {
		return nil, fmt.Errorf("%w: branch head %q is not a commit SHA", ErrProtocol, head)
	}
	return c.manifestAt(ctx, DevChannel, head, head[:12])
}

// UnsignedRelease returns the manifest of the tree at the tag of the latest
// release, built as DevRelease builds one, with Channel "stable" and the tag
// as Version. It is for a release without Ferry's assets, when the config
// sets allow_unsigned; OpenRaw(ctx, m.Version, path) reads its files.
func (c *Client) UnsignedRelease(ctx context.Context) (*manifest.Manifest, error) {
	rel, _, err := c.LatestRelease(ctx)
	if err != nil {
		return nil, err
	}
	commit, err := c.TagCommit(ctx, rel.TagName)
	if err != nil {
		return nil, fmt.Errorf("github: release %q: %w", rel.TagName, err)
	}
	return c.manifestAt(ctx, "stable", commit, rel.TagName)
}

// manifestAt builds (or returns the cached) manifest of a commit.
func (c *Client) manifestAt(ctx context.Context, channel, commit, version string) (*manifest.Manifest, error) {
	c.mu.Lock()
	last := c.manifests[channel]
	c.commits[version] = commit
	c.mu.Unlock()
	if last != nil && last.commit == commit {
		m := last.m
		m.Files = slices.Clone(m.Files)
		return &m, nil
	}
	cm, err := c.GetCommit(ctx, commit)
	if err != nil {
		return nil, err
	}
	budget := c.cfg.MaxTreeFiles
	entries, err := c.walkTree(ctx, cm.Tree.SHA, "", &budget, c.inScope)
	if err != nil {
		return nil, fmt.Errorf("github: commit %s: %w", commit, err)
	}
	m := manifest.Manifest{Channel: channel, Version: version, Created: cm.Committer.Date.UTC(), Expires: devExpires}
	if m.Files, err = c.files(entries); err != nil {
		return nil, fmt.Errorf("github: commit %s: %w", commit, err)
	}
	slices.SortFunc(m.Files, func(a, b manifest.File) int { return strings.Compare(a.Path, b.Path) })
	c.mu.Lock()
	c.manifests[channel] = &manifestAtCommit{commit: commit, m: m}
	c.mu.Unlock()
	out := m
	out.Files = slices.Clone(m.Files)
	return &out, nil
}

// inScope reports whether folder dir of the repository may hold files below
// subdir.
func (c *Client) inScope(dir string) bool {
	s := c.cfg.Subdir
	return s == "" || dir == s || strings.HasPrefix(dir, s+"/") || strings.HasPrefix(s, dir+"/")
}

// files turns tree entries into manifest files: subdir stripped, filtered,
// links and submodules skipped.
func (c *Client) files(entries []TreeEntry) ([]manifest.File, error) {
	var out []manifest.File
	for _, e := range entries {
		rel, ok := c.relPath(e.Path)
		if !ok || e.Type == "tree" || (c.allow != nil && !c.allow(rel)) {
			continue
		}
		if e.Type != "blob" || e.Mode == "120000" {
			c.log.Warn("github: skipping a symbolic link or submodule", "path", e.Path, "mode", e.Mode, "type", e.Type)
			continue
		}
		if err := manifest.ValidPath(rel); err != nil {
			c.log.Warn("github: skipping a file whose path a manifest cannot hold", "path", e.Path, "err", err)
			continue
		}
		f := manifest.File{Path: rel, Mode: 0o644, Size: e.Size, ZSize: e.Size}
		if e.Mode == "100755" {
			f.Mode = 0o755
		}
		if !isSHA(e.SHA) || e.Size < 0 {
			return nil, fmt.Errorf("%w: entry %q: sha %q, size %d", ErrProtocol, e.Path, e.SHA, e.Size)
		}
		hex.Decode(f.GitSHA1[:], []byte(e.SHA))
		out = append(out, f)
	}
	return out, nil
}

func (c *Client) relPath(p string) (string, bool) {
	if c.cfg.Subdir == "" {
		return p, true
	}
	rel, ok := strings.CutPrefix(p, c.cfg.Subdir+"/")
	return rel, ok && rel != ""
}

// OpenRaw streams the file at path (a manifest path: below subdir) as of
// commit, which is a full commit SHA or the Version of a manifest this
// Client made (DevRelease, UnsignedRelease). It reads from raw_url, or from
// the contents API when raw_url is empty (GitHub Enterprise without a raw
// host). The caller verifies the git SHA-1 while it streams. It is one
// request; DevUpdate reads raw files through a resumable, retried
// origin.Download instead (see rawSource).
func (c *Client) OpenRaw(ctx context.Context, commit, path string) (io.ReadCloser, error) {
	resp, err := c.getRaw(ctx, commit, path, 0)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// getRaw GETs a raw file from offset on (Range), and checks the status: a
// 200 (the whole file: a server may ignore the Range) or, for an offset, a
// 206.
func (c *Client) getRaw(ctx context.Context, commit, path string, offset int64) (*http.Response, error) {
	if err := manifest.ValidPath(path); err != nil {
		return nil, fmt.Errorf("github: raw file: %w", err)
	}
	c.mu.Lock()
	if full, ok := c.commits[commit]; ok {
		commit = full
	}
	c.mu.Unlock()
	p := path
	if c.cfg.Subdir != "" {
		p = c.cfg.Subdir + "/" + path
	}
	u := fmt.Sprintf("%s/%s/%s/%s/%s", c.cfg.RawURL, url.PathEscape(c.cfg.Owner), url.PathEscape(c.cfg.Repo), url.PathEscape(commit), escapePath(p))
	accept := "*/*"
	if c.cfg.RawURL == "" {
		u = c.repoURL("contents/%s?ref=%s", escapePath(p), url.QueryEscape(commit))
		accept = "application/vnd.github.raw"
	}
	resp, err := c.download(ctx, u, accept, offset)
	if err != nil {
		return nil, fmt.Errorf("github: raw file %q at %s: %w", path, commit, err)
	}
	if resp.StatusCode != http.StatusOK && (offset == 0 || resp.StatusCode != http.StatusPartialContent) {
		drain(resp.Body)
		return nil, fmt.Errorf("%w: raw file %q at %s: status %q", ErrProtocol, path, commit, resp.Status)
	}
	return resp, nil
}
