//go:build !unix

package flock

import (
	"context"
	"errors"
)

// ErrBusy means another process holds the lock.
var ErrBusy = errors.New("flock: held by another process")

// Lock does nothing where flock(2) does not exist: run one process at a time.
func Lock(context.Context, string) (func(), error) { return func() {}, nil }
