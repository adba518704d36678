package origin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// answer turns an HTTP response to req into an Object or an error. It never
// reads the body, except through the Object's bounded Body.
func answer(ctx context.Context, req Request, resp *http.Response) (*Object, error) {
	p := req.Path
	switch resp.StatusCode {
	case http.StatusOK:
		if req.ETag != "" && validator(resp) == req.ETag {
			// A server that ignores If-None-Match (or If-Modified-Since):
			// the tag still says it.
			return nil, fmt.Errorf("%w: %q has etag %s", ErrNotModified, p, req.ETag)
		}
		return object(ctx, req, resp, 0, resp.ContentLength)
	case http.StatusPartialContent:
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != req.Offset {
			return nil, fmt.Errorf("%w: %q: asked for bytes from %d, got Content-Range %q", ErrProtocol, p, req.Offset, resp.Header.Get("Content-Range"))
		}
		return object(ctx, req, resp, start, total)
	case http.StatusRequestedRangeNotSatisfiable:
		return rangeNotSatisfiable(ctx, req, resp)
	case http.StatusNotModified:
		return nil, fmt.Errorf("%w: %q has etag %s", ErrNotModified, p, req.ETag)
	case http.StatusNotFound, http.StatusGone:
		return nil, fmt.Errorf("%w: %q (%s)", ErrNotFound, p, resp.Status)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return nil, fmt.Errorf("origin: get %q: %w", p, &RetryAfterError{Status: resp.StatusCode, Wait: wait})
		}
	}
	return nil, fmt.Errorf("origin: get %q: %w", p, &StatusError{Code: resp.StatusCode, Status: resp.Status})
}

// object checks the declared sizes against the cap and wraps the body. The
// body starts at offset; total is the whole file's size or -1.
func object(ctx context.Context, req Request, resp *http.Response, offset, total int64) (*Object, error) {
	length := resp.ContentLength
	if length >= 0 && total < 0 {
		total = offset + length
	}
	if total > req.MaxSize || (length >= 0 && offset+length > req.MaxSize) {
		return nil, fmt.Errorf("%w: %q is %d bytes, limit %d", ErrTooLarge, req.Path, max(total, offset+length), req.MaxSize)
	}
	return &Object{
		Body:   newBody(ctx, resp.Body, req.Path, req.MaxSize-offset, length),
		Size:   total,
		Offset: offset,
		ETag:   validator(resp),
	}, nil
}

// lastModifiedTag starts an Object.ETag made from a Last-Modified header
// (no real ETag starts so: those are quoted, or W/ and quoted).
const lastModifiedTag = "last-modified "

// validator returns the response's version tag: its ETag, or for a server
// that sends none, "last-modified <Last-Modified>", which Fetch sends back
// as If-Modified-Since. A Last-Modified is used only when the response's
// Date is at least one second after it (RFC 9110, section 8.8.2.2): a file
// written twice within the second a device fetched it would otherwise
// look unchanged forever. Otherwise there is no tag, and the next fetch is
// unconditional.
func validator(resp *http.Response) string {
	if tag := resp.Header.Get("ETag"); tag != "" {
		return tag
	}
	lm := resp.Header.Get("Last-Modified")
	mod, err1 := http.ParseTime(lm)
	date, err2 := http.ParseTime(resp.Header.Get("Date"))
	if err1 != nil || err2 != nil || date.Sub(mod) < time.Second {
		return ""
	}
	return lastModifiedTag + lm
}

// conditional sets the header that makes a request conditional on tag.
func conditional(h http.Header, tag string) {
	if lm, ok := strings.CutPrefix(tag, lastModifiedTag); ok {
		h.Set("If-Modified-Since", lm)
		return
	}
	h.Set("If-None-Match", tag)
}

// rangeNotSatisfiable handles 416: an offset exactly at the end of the file
// is a complete download (an empty Object); one past it is ErrRange.
func rangeNotSatisfiable(ctx context.Context, req Request, resp *http.Response) (*Object, error) {
	cr := resp.Header.Get("Content-Range")
	size, err := strconv.ParseInt(strings.TrimPrefix(cr, "bytes */"), 10, 64)
	if !strings.HasPrefix(cr, "bytes */") || err != nil || size < 0 {
		return nil, fmt.Errorf("%w: %q: offset %d (%s, Content-Range %q)", ErrRange, req.Path, req.Offset, resp.Status, cr)
	}
	if size != req.Offset {
		return nil, fmt.Errorf("%w: %q: offset %d, size %d", ErrRange, req.Path, req.Offset, size)
	}
	resp.ContentLength = 0
	resp.Body.Close()
	resp.Body = http.NoBody
	return object(ctx, req, resp, req.Offset, size)
}

// parseContentRange parses "bytes <start>-<end>/<total>" of a 206 answer;
// total is -1 for "*".
func parseContentRange(v string) (start, total int64, err error) {
	bad := fmt.Errorf("%w: Content-Range %q", ErrProtocol, v)
	spec, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, bad
	}
	rng, tot, ok := strings.Cut(spec, "/")
	if !ok {
		return 0, 0, bad
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, bad
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	switch {
	case err1 != nil || err2 != nil || err3 != nil, start < 0, end < start:
		return 0, 0, bad
	case total >= 0 && end >= total:
		return 0, 0, bad
	}
	return start, total, nil
}

// parseRetryAfter parses a Retry-After header: delay-seconds or an
// HTTP-date. A date in the past is a zero wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
