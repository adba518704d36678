package device

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/github"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/update"
)

// gitHubSource returns the origin of a [github] config: the assets of the
// repository's latest release (the stable channel), verified by the update
// cycle exactly as a Ferry origin is. The developer channel (a branch head,
// unsigned) has no origin files: Cycle installs it.
func (d *Device) gitHubSource(retry origin.RetryPolicy) (origin.Source, error) {
	g := d.Config.GitHub
	if g.Channel != "stable" {
		return nil, fmt.Errorf("%w: github.channel %q has no signed origin files (use Device.Cycle)", config.ErrInvalid, g.Channel)
	}
	c, err := github.New(*g, d.gitHubOptions())
	if err != nil {
		return nil, err
	}
	return origin.WithRetry(github.NewReleaseSource(c), retry), nil
}

// gitHubOptions are the GitHub client's options of the config: every GET
// it makes has the retry policy (http_retries, backoff_sec,
// max_backoff_sec) and stall cut-off (stall_sec) of every other fetch.
func (d *Device) gitHubOptions() github.Options {
	retry := origin.PolicyFromConfig(d.Config)
	retry.Logger = d.Log
	return github.Options{Version: d.Version, Logger: d.Log, Allow: d.Config.Allowed,
		CacheFile: filepath.Join(d.Config.State, "github-cache.json"),
		Retry:     retry, StallTimeout: time.Duration(d.Config.StallSec) * time.Second}
}

// Cycle returns the function that runs one update cycle for this device:
// update.Run for signed origins (a Ferry origin, a folder, GitHub releases),
// or, for the GitHub developer channel (allow_unsigned), a cycle that
// installs the branch head's tree with every file checked against its git
// blob SHA-1 while it streams.
func (d *Device) Cycle() (func(context.Context, update.Options) (*update.Result, error), error) {
	g := d.Config.GitHub
	if g == nil || g.Channel != github.DevChannel {
		return update.Run, nil
	}
	c, err := github.New(*g, d.gitHubOptions())
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, opt update.Options) (*update.Result, error) {
		return devCycle(ctx, c, opt)
	}, nil
}

func devCycle(ctx context.Context, c *github.Client, opt update.Options) (*update.Result, error) {
	in := opt.Installer
	if err := in.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	rec, err := in.Installed()
	if err != nil {
		return nil, err
	}
	res := &update.Result{}
	if rec != nil {
		res.From = rec.Version
	}
	head, _, err := c.BranchHead(ctx) // one conditional request: a 304 when the head has not moved
	if err != nil {
		return nil, err
	}
	if rec != nil && rec.Channel == github.DevChannel && len(head) >= 12 && rec.Version == head[:12] {
		res.To, res.UpToDate = rec.Version, true
		return res, nil
	}
	m, err := c.DevReleaseAt(ctx, head)
	if err != nil {
		return nil, err
	}
	res.To = m.Version
	if opt.Admit != nil { // e.g. a head that failed its health check is not retried
		doc, err := github.UnsignedDocument(m)
		if err != nil {
			return nil, err
		}
		p := &manifest.Pointer{Channel: m.Channel, Version: m.Version, Manifest: sha256.Sum256(doc), Rollout: 100}
		if ok, why := opt.Admit(p); !ok {
			res.Deferred = why
			return res, nil
		}
	}
	ir, err := c.InstallUnsigned(ctx, opt.Installer, m, install.Options{Trial: opt.Trial, Progress: opt.Progress})
	if err != nil {
		return nil, err
	}
	res.Install, res.Files, res.UpToDate = ir, ir.Files(), ir.UpToDate
	res.Downloaded = ir.Bytes
	return res, nil
}
