//go:build unix

package publish

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the lock file of an origin folder; ferry serve does not serve
// names that start with a dot.
const lockName = ".ferry-publish.lock"

// lockOrigin takes the origin's publish lock, so that two publishers cannot
// both give out the same sequence. It fails at once if another holds it.
func lockOrigin(origin string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(origin, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock origin %q: %w", origin, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another ferry release or rollout is writing to origin %q", ErrBusy, origin)
		}
		return nil, fmt.Errorf("lock origin %q: %w", origin, err)
	}
	return func() { f.Close() }, nil
}
