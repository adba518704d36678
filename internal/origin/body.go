package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// body is the Body of every Object this package hands out, shaped like
// archive/zip's checksumReader without the hash: it allows at most limit
// bytes and fails with ErrTooLarge when the stream holds more (an endless
// body stops there); it ends at the declared length (want, or -1 when
// unknown) and fails with io.ErrUnexpectedEOF when the stream ends before
// it; it checks ctx before each read; and its error is sticky.
type body struct {
	ctx   context.Context
	rc    io.ReadCloser
	path  string
	limit int64 // bytes still allowed
	want  int64 // bytes still declared, -1 if unknown
	err   error
}

func newBody(ctx context.Context, rc io.ReadCloser, path string, limit, want int64) *body {
	return &body{ctx: ctx, rc: rc, path: path, limit: limit, want: want}
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		return 0, b.fail(err)
	}
	if b.want == 0 {
		b.err = io.EOF // the declared length: a file that grew since is cut here
		return 0, io.EOF
	}
	if b.limit <= 0 {
		return 0, b.probe()
	}
	if int64(len(p)) > b.limit {
		p = p[:b.limit]
	}
	if b.want > 0 && int64(len(p)) > b.want {
		p = p[:b.want]
	}
	n, err := b.rc.Read(p)
	b.limit -= int64(n)
	if b.want >= 0 {
		b.want -= int64(n)
	}
	switch {
	case err == io.EOF && b.want > 0:
		return n, b.fail(io.ErrUnexpectedEOF)
	case err == io.EOF:
		b.err = io.EOF
	case err != nil:
		return n, b.fail(err)
	}
	return n, b.err
}

// probe reads once more at the size limit: EOF means the file fitted
// exactly; any byte means it did not.
func (b *body) probe() error {
	var one [1]byte
	for {
		n, err := b.rc.Read(one[:])
		switch {
		case n > 0:
			return b.fail(fmt.Errorf("%w: %q has more bytes than allowed", ErrTooLarge, b.path))
		case err == io.EOF && b.want > 0:
			return b.fail(io.ErrUnexpectedEOF)
		case err == io.EOF:
			b.err = io.EOF
			return io.EOF
		case err != nil:
			return b.fail(err)
		}
	}
}

func (b *body) fail(err error) error {
	if !errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("origin: read %q: %w", b.path, err)
	}
	b.err = err
	return err
}

func (b *body) Close() error { return b.rc.Close() }
