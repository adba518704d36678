//go:build unix

// Package flock takes exclusive advisory locks on files (flock(2)), so that
// two processes never run the same critical work at once: two publishers on
// one origin, or two agents on one device's state. The lock goes with the
// process: a crash releases it.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrBusy means another process holds the lock.
var ErrBusy = errors.New("flock: held by another process")

// Lock takes the exclusive lock on the file at path, creating it. It waits
// while another process holds it, until ctx is done; then the error wraps
// ErrBusy. A ctx that is already done makes it try once.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %q: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: %q", ErrBusy, path)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
