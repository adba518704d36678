// Package decider is the part of the fleet service that acts on staged
// rollouts (`ferry fleet serve --origin DIR --rollout-keys FOLDER`): on
// every step it evaluates each channel's rollout (package rollout) from the
// devices' reports, advances the stage or halts the release, and writes the
// channel's signed rollout document (package manifest, RolloutDoc) into
// the origin folder, rollouts/<channel>.note.
//
// # Keys
//
// The service holds only rollout keys (`ferry keys add-rollout --channel
// C`): keys whose role in the signing-key list is rollout:<channel>. Devices
// accept a rollout document signed by such a key and by no other, and
// accept no manifest or pointer signed by one: whoever takes the service
// can stop a rollout or widen the stage of a release the publisher signed
// and governed (`ferry rollout --stages` puts "rollout-doc 1" in the
// pointer), and nothing more.
//
// # What it follows
//
// The origin's channel pointer is the truth about which release a channel
// offers. A pointer without "rollout-doc 1" is not governed: no document is
// written. When the pointer names another release than the stored state,
// the service starts the policy over for it (first stage, not halted). The
// document names the pointer's version, sequence and manifest SHA-256, the
// stage's percentage, and the halt with its reason; it is written when any
// of these change and re-signed when less than half its lifetime is left,
// so that a device never holds an expired one while the service runs.
// Every change is logged (slog, "rollout decision").
package decider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// DefaultLifetime is how long a rollout document is valid: short, so that a
// stopped service (or an origin that stopped taking its documents) makes
// devices wait rather than follow an old stage.
const DefaultLifetime = 48 * time.Hour

// Config configures a Decider.
type Config struct {
	Store    *store.Store
	Origin   string // the origin folder the documents are written into
	Keys     string // the folder holding the rollout keys, root.pub and signing-keys-2.note
	Lifetime time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Decider acts on the channels' staged rollouts.
type Decider struct {
	cfg     Config
	signers map[string]*keys.RolloutSigner
}

// New returns a Decider.
func New(cfg Config) *Decider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	return &Decider{cfg: cfg, signers: map[string]*keys.RolloutSigner{}}
}

// Run steps every interval until ctx ends, logging errors.
func (d *Decider) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := d.Step(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("rollout decisions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step decides once for every channel with a staged rollout.
func (d *Decider) Step(ctx context.Context) error {
	chans, err := d.cfg.Store.RolloutChannels(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range chans {
		if err := d.channel(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("channel %q: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// channel decides for one channel and writes its document if it changed.
func (d *Decider) channel(ctx context.Context, channel string) error {
	ptr, err := d.pointer(channel)
	if err != nil || ptr == nil || !ptr.RolloutDoc {
		return err
	}
	now := d.cfg.Now()
	r, err := d.cfg.Store.Rollout(ctx, channel)
	if err != nil {
		return err
	}
	changed := false
	if r.State.Release != ptr.Version {
		d.cfg.Logger.Info("rollout decision", "channel", channel, "action", "start", "why", fmt.Sprintf("the channel offers %s: policy %s starts over", ptr.Version, r.Policy.String()))
		r.State, changed = rollout.State{Release: ptr.Version, StageSince: now}, true
	}
	st, err := d.cfg.Store.ReleaseStats(ctx, channel, r.State.Release)
	if err != nil {
		return err
	}
	dec := rollout.Evaluate(&r.Policy, &r.State, st, now)
	switch {
	case dec.Action == rollout.Advance:
		r.State.Stage, r.State.StageSince, changed = r.State.Stage+1, now, true
	case dec.Action == rollout.Halt && !r.State.Halted:
		r.State.Halted, r.State.HaltReason, changed = true, dec.Why, true
	}
	if changed {
		d.cfg.Logger.Info("rollout decision", "channel", channel, "action", dec.Action.String(), "why", dec.Why)
		r.UpdatedAt = now
		if err := d.cfg.Store.SetRollout(ctx, r); err != nil {
			return err
		}
	}
	return d.publish(channel, ptr, r, now)
}

// pointer reads the channel's pointer from the origin folder (nil: none).
// The service writes next to it and does not verify it: it only names
// what the signed document governs, and devices check that it matches the
// pointer they verified.
func (d *Decider) pointer(channel string) (*manifest.Pointer, error) {
	data, err := os.ReadFile(filepath.Join(d.cfg.Origin, filepath.FromSlash(layout.Channel(channel))))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text, err := trust.NoteText(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layout.Channel(channel), err)
	}
	return manifest.ParsePointer(text)
}
