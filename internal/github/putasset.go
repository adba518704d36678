package github

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// ReadAsset downloads asset a of a release (see assetURL), at most max
// bytes: for the fleet service, which reads a channel pointer and the
// rollout document it last wrote.
func (c *Client) ReadAsset(ctx context.Context, a Asset, max int64) ([]byte, error) {
	if a.Size > max {
		return nil, fmt.Errorf("github: asset %q is %d bytes, over %d", a.Name, a.Size, max)
	}
	resp, err := c.download(ctx, c.assetURL(a), "application/octet-stream", 0)
	if err != nil {
		return nil, fmt.Errorf("github: asset %q: %w", a.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		drain(resp.Body)
		return nil, fmt.Errorf("%w: asset %q: status %q", ErrProtocol, a.Name, resp.Status)
	}
	return readCapped(resp, max)
}

// PutAsset makes data the asset called name of release rel in the
// Client's repository: an asset of that name already there is deleted
// first, then data is uploaded. Devices polling meanwhile find no asset
// for a moment (for a rollout document: they wait, fail safe) and then the
// new one, whose new id gives it a new ETag. It returns the new asset.
func (c *Client) PutAsset(ctx context.Context, rel *Release, name string, data []byte) (Asset, error) {
	if name == "" || name[0] == '.' || name[len(name)-1] == '.' || bytes.IndexFunc([]byte(name), func(r rune) bool { return !assetRune(r) }) >= 0 {
		return Asset{}, fmt.Errorf("%w: asset name %q", ErrAssetName, name)
	}
	if old, ok := rel.Asset(name); ok {
		if err := c.sendJSON(ctx, http.MethodDelete, c.repoURL("releases/assets/%d", old.ID), nil, nil); err != nil {
			return Asset{}, fmt.Errorf("github: release %q: delete asset %q: %w", rel.TagName, name, err)
		}
	}
	a, err := c.uploadAssetJSON(ctx, rel, name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Asset{}, fmt.Errorf("github: release %q: %w", rel.TagName, err)
	}
	return a, nil
}
