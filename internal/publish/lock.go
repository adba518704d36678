package publish

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/flock"
)

// lockName is the lock file of an origin folder; ferry serve does not serve
// names that start with a dot.
const lockName = ".ferry-publish.lock"

// lockOrigin takes the origin's publish lock, so that two publishers cannot
// both give out the same sequence. It waits while another holds it, until
// ctx is done: then the error wraps ErrBusy.
func lockOrigin(ctx context.Context, origin string) (unlock func(), err error) {
	unlock, err = flock.Lock(ctx, filepath.Join(origin, lockName))
	if errors.Is(err, flock.ErrBusy) {
		return nil, fmt.Errorf("%w: another ferry release or rollout is writing to origin %q: %w", ErrBusy, origin, context.Cause(ctx))
	}
	return unlock, err
}
