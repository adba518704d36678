package delta

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// StreamErrors classifies the errors of reading a zstd stream of untrusted
// input into a format's own sentinels: the decoder's window and size limits
// become TooLarge, anything else Corrupt. Package delta and package bundle
// share it.
type StreamErrors struct{ Corrupt, TooLarge error }

// Reader returns r (a zstd decoder) with its errors classified; io.EOF is
// kept as is.
func (s StreamErrors) Reader(r io.Reader) io.Reader { return classified{r, s} }

// Wrap wraps an error met reading what from a classified stream: an early
// end becomes io.ErrUnexpectedEOF, and an error not yet classified is
// Corrupt.
func (s StreamErrors) Wrap(what string, err error) error {
	if errors.Is(err, s.Corrupt) || errors.Is(err, s.TooLarge) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s: %w", s.Corrupt, what, err)
}

type classified struct {
	r io.Reader
	s StreamErrors
}

func (c classified) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		err = fmt.Errorf("%w: %w", c.s.TooLarge, err)
	default:
		err = fmt.Errorf("%w: %w", c.s.Corrupt, err)
	}
	return n, err
}
