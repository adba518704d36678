package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// Rollout re-signs the pointer of channel with rollout percent and the next
// sequence; version and manifest stay, and the expiry is renewed for
// lifetime (0: DefaultPointerLifetime), never past the manifest's. It
// returns the new pointer. It waits for another publisher to finish, until
// ctx is done.
func Rollout(ctx context.Context, origin, channel string, percent int, ring *keys.Ring, lifetime time.Duration, now time.Time) (*manifest.Pointer, error) {
	return rollout(ctx, origin, channel, percent, false, ring, lifetime, now)
}

// StagedRollout is Rollout at the first stage of a staged rollout: the
// pointer also carries "rollout-doc 1", so that agents that know it take
// the stage and any halt from the fleet service's signed rollout document
// (rollouts/<channel>.note) rather than from percent, which only agents
// made before the header use.
func StagedRollout(ctx context.Context, origin, channel string, percent int, ring *keys.Ring, lifetime time.Duration, now time.Time) (*manifest.Pointer, error) {
	return rollout(ctx, origin, channel, percent, true, ring, lifetime, now)
}

func rollout(ctx context.Context, origin, channel string, percent int, governed bool, ring *keys.Ring, lifetime time.Duration, now time.Time) (*manifest.Pointer, error) {
	if percent < 0 || percent > 100 {
		return nil, fmt.Errorf("publish: rollout %d is not a percentage from 0 to 100", percent)
	}
	return repoint(ctx, origin, channel, ring, now, func(p *manifest.Pointer, m *manifest.Manifest) func([]byte) ([]byte, error) {
		p.Sequence++
		p.Rollout, p.RolloutDoc = percent, governed
		p.Expires = pointerExpiry(now, lifetime, m.Expires)
		return ring.Sign
	})
}

// Refresh re-signs the current pointer of channel for the same release,
// sequence and rollout with a new expiry, lifetime from now (0:
// DefaultPointerLifetime) but never past the manifest's: what a cron job
// runs so that a short pointer lifetime does not expire between releases.
// It signs with the ring's refresh keys, or its release keys when it has
// none. The pointer on the origin must verify (an expired one may be
// refreshed), and so must its manifest with the key folder's own list.
func Refresh(ctx context.Context, origin, channel string, ring *keys.Ring, lifetime time.Duration, now time.Time) (*manifest.Pointer, error) {
	return repoint(ctx, origin, channel, ring, now, func(p *manifest.Pointer, m *manifest.Manifest) func([]byte) ([]byte, error) {
		p.Expires = pointerExpiry(now, lifetime, m.Expires)
		return ring.SignRefresh
	})
}

// repoint locks the origin, reads and verifies the channel's pointer and its
// manifest, lets change edit the pointer and return the signer, and writes
// the pointer.
func repoint(ctx context.Context, origin, channel string, ring *keys.Ring, now time.Time, change func(*manifest.Pointer, *manifest.Manifest) func([]byte) ([]byte, error)) (*manifest.Pointer, error) {
	unlock, err := lockOrigin(ctx, origin)
	if isNotExist(err) {
		return nil, fmt.Errorf("%w: origin %q does not exist", ErrNoChannel, origin)
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	prev, err := readPointer(origin, channel, ring, now)
	if err != nil {
		return nil, err
	}
	if prev == nil {
		return nil, fmt.Errorf("%w: origin %q has no %s: publish a release first", ErrNoChannel, origin, layout.Channel(channel))
	}
	m, s, err := readManifest(origin, prev.Version, ring, now)
	if err == nil && m == nil {
		err = fmt.Errorf("%w: origin %q has no %s, which %s points to", ErrNoChannel, origin, layout.Manifest(prev.Version), layout.Channel(channel))
	}
	if err != nil {
		return nil, err
	}
	if _, err := ring.Signing.Verify(s.note); err != nil {
		return nil, fmt.Errorf("publish: %s is not signed by a release key of the key folder's list (retired since?): publish a new release: %w", layout.Manifest(prev.Version), err)
	}
	if !m.Expires.After(now) {
		return nil, fmt.Errorf("publish: %s expired %s: publish a new release instead", layout.Manifest(prev.Version), m.Expires.Format(time.RFC3339))
	}
	p := *prev
	if err := signPointer(origin, ring, &p, change(&p, m), now); err != nil {
		return nil, err
	}
	return &p, nil
}
