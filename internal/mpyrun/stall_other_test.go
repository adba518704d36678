//go:build !unix

package mpyrun

import "testing"

// stalledPort: no way to make a connect hang here; http_faults.py then
// leaves out its connect-timeout checks and says so.
func stalledPort(*testing.T) int { return -1 }
