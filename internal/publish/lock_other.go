//go:build !unix

package publish

import "context"

// lockOrigin does nothing where flock(2) does not exist: run one publisher
// at a time per origin.
func lockOrigin(context.Context, string) (func(), error) { return func() {}, nil }
