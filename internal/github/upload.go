package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
)

// MaxAssets is the most assets GitHub accepts on one release.
const MaxAssets = 1000

// UploadRelease publishes files as assets of the release of tag in
// owner/repo. A new release is created as a draft (GitHub makes the tag from
// the default branch if it does not exist), filled, and only then
// published, so that devices never see a half-uploaded latest release; a
// draft left by an upload that stopped is found and finished. assets maps an asset name (AssetName of an origin path) to a local
// file. An asset of the same name already there is kept when GitHub reports
// the same SHA-256 and size, and otherwise deleted, then uploaded again
// through the uploads API (the URL of the release's upload_url).
//
// When an already published release is refreshed, order matters to devices
// polling meanwhile: blobs and deltas go first, then release manifests, then
// the signing keys, and the channel pointers last, so a device never sees a
// pointer whose manifest or blobs are missing.
func (c *Client) UploadRelease(ctx context.Context, owner, repo, tag string, assets map[string]string) error {
	if len(assets) > MaxAssets {
		return fmt.Errorf("github: release %q: %d assets, GitHub allows %d a release: publish fewer files or deltas", tag, len(assets), MaxAssets)
	}
	rel, err := c.findOrCreateRelease(ctx, owner, repo, tag)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(assets))
	for name := range assets {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := uploadRank(a) - uploadRank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		if err := c.replaceAsset(ctx, owner, repo, rel, name, assets[name]); err != nil {
			return fmt.Errorf("github: release %q of %s/%s: %w", tag, owner, repo, err)
		}
	}
	return c.publishDraft(ctx, owner, repo, rel)
}

func uploadRank(name string) int {
	for i, prefix := range []string{"blobs_", "deltas_", "releases_", "keys_", "channels_"} {
		if strings.HasPrefix(name, prefix) {
			return i
		}
	}
	return 0
}

// findOrCreateRelease returns the release of tag: a published one, a draft
// left by an upload that stopped, or a new draft.
func (c *Client) findOrCreateRelease(ctx context.Context, owner, repo, tag string) (*Release, error) {
	base := fmt.Sprintf("%s/repos/%s/%s/releases", c.cfg.APIURL, url.PathEscape(owner), url.PathEscape(repo))
	rel := new(Release)
	err := c.sendJSON(ctx, http.MethodGet, base+"/tags/"+url.PathEscape(tag), nil, rel)
	if errors.Is(err, ErrNotFound) { // drafts have no tag yet: look for one
		var list []Release
		if err = c.sendJSON(ctx, http.MethodGet, base+"?per_page=100", nil, &list); err == nil {
			rel, err = draftOrNew(ctx, c, base, tag, list)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("github: release %q of %s/%s: %w", tag, owner, repo, err)
	}
	if rel.UploadURL == "" {
		return nil, fmt.Errorf("%w: release %q has no upload_url", ErrProtocol, tag)
	}
	return rel, nil
}

func draftOrNew(ctx context.Context, c *Client, base, tag string, list []Release) (*Release, error) {
	for i := range list {
		if list[i].Draft && list[i].TagName == tag {
			return &list[i], nil
		}
	}
	rel := new(Release)
	in := map[string]any{"tag_name": tag, "name": tag, "draft": true, "body": "Published by ferry release."}
	return rel, c.sendJSON(ctx, http.MethodPost, base, in, rel)
}

// publishDraft makes a draft release public: from now on it is the latest.
func (c *Client) publishDraft(ctx context.Context, owner, repo string, rel *Release) error {
	if !rel.Draft {
		return nil
	}
	u := fmt.Sprintf("%s/repos/%s/%s/releases/%d", c.cfg.APIURL, url.PathEscape(owner), url.PathEscape(repo), rel.ID)
	if err := c.sendJSON(ctx, http.MethodPatch, u, map[string]any{"draft": false}, rel); err != nil {
		return fmt.Errorf("github: publish release %q: %w", rel.TagName, err)
	}
	return nil
}

// replaceAsset uploads file as asset name unless the same content is there.
func (c *Client) replaceAsset(ctx context.Context, owner, repo string, rel *Release, name, file string) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.IndexFunc(name, func(r rune) bool { return !assetRune(r) }) >= 0 {
		return fmt.Errorf("%w: asset name %q", ErrAssetName, name)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if old, ok := rel.Asset(name); ok {
		if same, err := sameContent(f, old, fi.Size()); err != nil || same {
			return err
		}
		u := fmt.Sprintf("%s/repos/%s/%s/releases/assets/%d", c.cfg.APIURL, url.PathEscape(owner), url.PathEscape(repo), old.ID)
		if err := c.sendJSON(ctx, http.MethodDelete, u, nil, nil); err != nil {
			return fmt.Errorf("delete stale asset %q: %w", name, err)
		}
		c.log.Info("github: replaced a stale asset", "asset", name, "release", rel.TagName)
	}
	return c.uploadAsset(ctx, rel, name, f, fi.Size())
}

// sameContent reports whether asset a already holds the size bytes of f,
// by the SHA-256 digest GitHub reports; it rewinds f.
func sameContent(f *os.File, a Asset, size int64) (bool, error) {
	want, ok := strings.CutPrefix(a.Digest, "sha256:")
	if !ok || a.Size != size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
}

// uploadAsset POSTs the content to the release's upload_url template.
func (c *Client) uploadAsset(ctx context.Context, rel *Release, name string, body io.Reader, size int64) error {
	_, err := c.uploadAssetJSON(ctx, rel, name, body, size)
	return err
}

// uploadAssetJSON is uploadAsset, returning the asset GitHub stored.
func (c *Client) uploadAssetJSON(ctx context.Context, rel *Release, name string, body io.Reader, size int64) (Asset, error) {
	if size == 0 {
		body = http.NoBody // else net/http sends an unknown length, chunked
	}
	base, _, _ := strings.Cut(rel.UploadURL, "{")
	u := base + "?name=" + url.QueryEscape(name)
	req, err := c.newRequest(ctx, http.MethodPost, u, body, "")
	if err != nil {
		return Asset{}, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req)
	if err != nil {
		return Asset{}, fmt.Errorf("upload asset %q: %w", name, err)
	}
	defer resp.Body.Close()
	var a Asset
	b, err := readCapped(resp, maxJSON)
	if err == nil {
		err = parseJSON(b, &a)
	}
	if err != nil || a.Name != name || a.Size != size {
		return Asset{}, fmt.Errorf("%w: upload asset %q: stored as %q of %d bytes (%v)", ErrProtocol, name, a.Name, a.Size, err)
	}
	return a, nil
}
