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
// sequence; version, manifest and expiry stay. It returns the new pointer.
// It waits for another publisher to finish, until ctx is done.
func Rollout(ctx context.Context, origin, channel string, percent int, ring *keys.Ring, now time.Time) (*manifest.Pointer, error) {
	if percent < 0 || percent > 100 {
		return nil, fmt.Errorf("publish: rollout %d is not a percentage from 0 to 100", percent)
	}
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
	if !prev.Expires.After(now) {
		return nil, fmt.Errorf("publish: %s expired %s: publish a new release instead", layout.Channel(channel), prev.Expires.Format(time.RFC3339))
	}
	p := *prev
	p.Sequence++
	p.Rollout = percent
	if err := signPointer(origin, ring, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
