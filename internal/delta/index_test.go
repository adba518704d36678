package delta

import (
	"index/suffixarray"
	"io"
)

// The tests generate patches: they set the suffix-array builder that package
// deltagen sets for the publisher.
func init() {
	UseIndexWriter(func(data []byte, w io.Writer) error { return suffixarray.New(data).Write(w) })
}
