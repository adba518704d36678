// Package deltagen is the publisher's side of package delta: it makes
// patches. It exists so that the agent, which only applies patches, does not
// link the generator's suffix-array construction (index/suffixarray); see
// delta.Diff for the algorithm and the format.
package deltagen

import (
	"index/suffixarray"
	"io"

	"github.com/ferry-ota/ferry/internal/delta"
)

func init() {
	delta.UseIndexWriter(func(data []byte, w io.Writer) error { return suffixarray.New(data).Write(w) })
}

// Options tune Diff; see delta.Options.
type Options = delta.Options

// Diff writes a patch from old to new to w; see delta.Diff.
func Diff(old, new []byte, w io.Writer, opts Options) error { return delta.Diff(old, new, w, opts) }
