package decider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/github"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/trust"
)

// GitHub is a Target: the releases of a GitHub repository, as `ferry
// release --github OWNER/REPO --tag TAG` publishes them. Devices on the
// GitHub stable channel poll the latest release, so the pointer is that
// release's asset channels_<channel>.note and the document goes to the
// same release as asset rollouts_<channel>.note (github.AssetName of
// rollouts/<channel>.note), replaced (deleted, then uploaded) on every
// change. A new release gets its document at the next step; until then its
// devices wait for it.
type GitHub struct {
	c *github.Client

	mu    sync.Mutex
	rel   *github.Release     // the latest release, as of the last Pointer
	known map[int64]heldAsset // assets read, by id: a replaced asset has a new id
}

// heldAsset is the content of an asset read before, with its update time.
type heldAsset struct {
	updated time.Time
	data    []byte
}

// NewGitHub returns the Target of the repository c was made for (its
// token must be allowed to write contents).
func NewGitHub(c *github.Client) *GitHub {
	return &GitHub{c: c, known: map[int64]heldAsset{}}
}

// Pointer implements Target: it fetches the latest release (conditionally)
// and reads its pointer asset.
func (g *GitHub) Pointer(ctx context.Context, channel string) ([]byte, error) {
	rel, _, err := g.c.LatestRelease(ctx)
	if errors.Is(err, github.ErrNotFound) { // no release published yet
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("github: latest release: %w", err)
	}
	g.mu.Lock()
	g.rel = rel
	g.mu.Unlock()
	return g.read(ctx, rel, layout.Channel(channel))
}

// Doc implements Target.
func (g *GitHub) Doc(ctx context.Context, channel string) ([]byte, error) {
	rel, err := g.release()
	if err != nil {
		return nil, err
	}
	return g.read(ctx, rel, layout.RolloutDoc(channel))
}

// PutDoc implements Target.
func (g *GitHub) PutDoc(ctx context.Context, channel string, msg []byte) error {
	rel, err := g.release()
	if err != nil {
		return err
	}
	name, err := github.AssetName(layout.RolloutDoc(channel))
	if err != nil {
		return err
	}
	a, err := g.c.PutAsset(ctx, rel, name, msg)
	if err != nil {
		return err
	}
	g.hold(a, msg) // the next step finds it in the listing: nothing to download
	return nil
}

// String implements Target.
func (g *GitHub) String() string { return "GitHub releases" }

func (g *GitHub) release() (*github.Release, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rel == nil {
		return nil, fmt.Errorf("github: no latest release read yet")
	}
	return g.rel, nil
}

// read returns the asset of origin path p in rel (nil, nil: none). An
// asset read before (same id, same update time) is not downloaded again,
// so a step with nothing new costs one request, the listing's 304.
func (g *GitHub) read(ctx context.Context, rel *github.Release, p string) ([]byte, error) {
	name, err := github.AssetName(p)
	if err != nil {
		return nil, err
	}
	a, ok := rel.Asset(name)
	if !ok || a.State != "" && a.State != "uploaded" {
		return nil, nil
	}
	g.mu.Lock()
	h, ok := g.known[a.ID]
	g.mu.Unlock()
	if ok && h.updated.Equal(a.UpdatedAt) {
		return h.data, nil
	}
	data, err := g.c.ReadAsset(ctx, a, trust.MaxNoteSize)
	if err != nil {
		return nil, err
	}
	g.hold(a, data)
	return data, nil
}

// hold remembers the content of asset a.
func (g *GitHub) hold(a github.Asset, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.known) >= 64 { // a few channels' pointers and documents: start afresh
		clear(g.known)
	}
	g.known[a.ID] = heldAsset{updated: a.UpdatedAt, data: data}
}
