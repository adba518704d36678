package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// errWrite marks a failure of the caller's writer (a full disk, say): not
// the network's, so never retried.
var errWrite = errors.New("write")

// copyBufferSize is the fixed buffer every transfer streams through.
const copyBufferSize = 32 << 10

// Download is the resumable transfer. The caller already holds the first
// have bytes of req.Path (a partial file opened for append, or have == 0);
// Download fetches from offset have and appends the rest to w. When the
// transfer breaks mid-body on a transient error (a dropped connection, a
// stall, a body cut short) it fetches again from the new offset after a
// backoff. The retry count starts again after every attempt that wrote
// bytes, so a link that drops every few megabytes still finishes, while
// one that delivers nothing gives up after p.Retries retries.
//
// req.Offset is ignored (have is the offset). req.ETag, if set, is sent
// (If-None-Match) until an answer is accepted, so that a conditional fetch
// is one request when nothing changed (ErrNotModified, returned at once);
// the ETag of the first answer is remembered and a later answer with
// another one is ErrChanged: the partial file mixes two versions and must
// be discarded.
// An origin that ignores the range answers from 0: the bytes already held
// are read and dropped. Nothing is ever written past req.MaxSize. Download
// does not hash: the caller verifies the file afterwards. It does its own
// retrying under p: a src made by WithRetry is unwrapped, so the two
// policies do not multiply. It returns the number of bytes appended to w,
// also on error.
func Download(ctx context.Context, src Source, req Request, w io.Writer, have int64, p RetryPolicy) (int64, error) {
	d, err := newDownload(src, req, w, have)
	if err != nil {
		return 0, err
	}
	err = d.run(ctx, p)
	return d.written, err
}

func newDownload(src Source, req Request, w io.Writer, have int64) (*download, error) {
	req.Offset = have
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if rs, ok := src.(*retrySource); ok {
		src = rs.src // Download retries by itself: retries must not multiply
	}
	return &download{src: src, req: req, w: w, have: have, buf: make([]byte, copyBufferSize)}, nil
}

// run makes attempts under p until the file is complete.
func (d *download) run(ctx context.Context, p RetryPolicy) error {
	r := newRetrier(p)
	for {
		n, err := d.attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if n > 0 {
			r.progress()
		}
		wait, ok := r.wait(err)
		if !ok {
			return giveUp(r, err)
		}
		r.p.Logger.Warn("origin: download interrupted, resuming", "path", d.req.Path,
			"offset", d.have+d.written, "attempt", r.attempt, "wait", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("origin: download %q: %w", d.req.Path, err)
		}
	}
}

// download is the state of one Download across its attempts.
type download struct {
	src      Source
	req      Request
	w        io.Writer
	have     int64  // bytes the caller held before Download
	written  int64  // bytes appended to w so far
	etag     string // of the first answer
	answered bool   // an answer was accepted: no more If-None-Match
	buf      []byte
}

// attempt fetches from the current offset and copies until the end or an
// error. It returns the bytes it appended.
func (d *download) attempt(ctx context.Context) (int64, error) {
	pos := d.have + d.written
	req := d.req
	req.Offset = pos
	if d.answered {
		req.ETag = "" // the conditional was for the first answer only
	}
	obj, err := d.src.Fetch(ctx, req)
	if err != nil {
		return 0, err
	}
	defer obj.Body.Close()
	if err := d.check(obj, pos); err != nil {
		return 0, err
	}
	if skip := pos - obj.Offset; skip > 0 {
		if m, err := io.CopyBuffer(io.Discard, io.LimitReader(obj.Body, skip), d.buf); err != nil || m < skip {
			return 0, fmt.Errorf("origin: read %q: skipping %d bytes already held: %w", req.Path, skip, cmpErr(err, io.ErrUnexpectedEOF))
		}
	}
	n, err := d.copy(obj.Body, req.MaxSize-pos)
	d.written += n
	if err == nil && obj.Size >= 0 && pos+n != obj.Size {
		err = fmt.Errorf("origin: read %q: got %d of %d bytes: %w", req.Path, pos+n, obj.Size, io.ErrUnexpectedEOF)
	}
	return n, err
}

// check refuses an answer that cannot continue the partial file.
func (d *download) check(obj *Object, pos int64) error {
	p := d.req.Path
	switch {
	case obj.Offset > pos || obj.Offset < 0:
		return fmt.Errorf("%w: %q: asked for bytes from %d, got bytes from %d", ErrProtocol, p, pos, obj.Offset)
	case d.etag != "" && obj.ETag != "" && obj.ETag != d.etag:
		return fmt.Errorf("%w: %q: etag %s became %s", ErrChanged, p, d.etag, obj.ETag)
	case obj.Size > d.req.MaxSize:
		return fmt.Errorf("%w: %q is %d bytes, limit %d", ErrTooLarge, p, obj.Size, d.req.MaxSize)
	}
	if d.etag == "" {
		d.etag = obj.ETag
	}
	d.answered = true
	return nil
}

// copy appends body to w through the fixed buffer, at most limit bytes; a
// body with more is ErrTooLarge.
func (d *download) copy(body io.Reader, limit int64) (int64, error) {
	var n int64
	for {
		buf := d.buf
		if left := limit - n; left < int64(len(buf)) {
			buf = buf[:max(left, 1)]
		}
		m, err := body.Read(buf)
		if int64(m) > limit-n {
			return n, fmt.Errorf("%w: %q has more than %d bytes", ErrTooLarge, d.req.Path, d.req.MaxSize)
		}
		if m > 0 {
			k, werr := d.w.Write(buf[:m])
			n += int64(k)
			if werr != nil {
				return n, fmt.Errorf("origin: download %q: %w: %w", d.req.Path, errWrite, werr)
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// ReadAll fetches a whole small file (a signed note, a manifest, a patch)
// into memory, at most req.MaxSize bytes, through Download: the same
// retries, backoff, Retry-After, stall cut-off and resume with Range as a
// blob, so a body that ends early is resumed, not an error, while retries
// are left. req.ETag makes it conditional (ErrNotModified: one request when
// nothing changed). It returns the bytes and the file's ETag.
func ReadAll(ctx context.Context, src Source, req Request, p RetryPolicy) ([]byte, string, error) {
	w := &memWriter{}
	if req.MaxSize > 0 && req.MaxSize <= maxPresize {
		// The size is known (a manifest's is signed in the pointer): one
		// buffer, not the doubling copies of append, which for a manifest
		// of 50,000 files were its size again at the peak.
		w.buf = make([]byte, 0, req.MaxSize)
	}
	d, err := newDownload(src, req, w, 0)
	if err != nil {
		return nil, "", err
	}
	if err := d.run(ctx, p); err != nil {
		return nil, "", err
	}
	return w.buf, d.etag, nil
}

// maxPresize caps the buffer ReadAll allocates before the first byte.
const maxPresize = 64 << 20

// memWriter collects a download in memory; Download never writes past
// the request's MaxSize, so neither does it.
type memWriter struct{ buf []byte }

func (m *memWriter) Write(p []byte) (int, error) {
	m.buf = append(m.buf, p...)
	return len(p), nil
}

// cmpErr returns err, or def when err is nil.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}
