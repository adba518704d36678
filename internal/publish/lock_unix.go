//go:build unix

package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockName is the lock file of an origin folder; ferry serve does not serve
// names that start with a dot.
const lockName = ".ferry-publish.lock"

// lockOrigin takes the origin's publish lock, so that two publishers cannot
// both give out the same sequence. It waits while another holds it, until
// ctx is done: then the error wraps ErrBusy.
func lockOrigin(ctx context.Context, origin string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(origin, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock origin %q: %w", origin, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock origin %q: %w", origin, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: another ferry release or rollout is writing to origin %q: %w", ErrBusy, origin, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
