// Package origin fetches the files of a Ferry origin: signed notes, manifests,
// compressed blobs and patches. An origin only serves files; the device only
// reads them. Every implementation (a static HTTP server, a local folder or
// USB stick, GitHub release assets) satisfies Source and passes the one
// conformance suite in package origintest.
//
// Paths are origin-relative and slash-separated, as laid out by the publisher:
//
//	keys/signing-keys.note
//	channels/<channel>.note
//	releases/<version>/manifest.note
//	blobs/sha256/<ab>/<hash>.zst
//	deltas/<oldhash>/<newhash>.patch
//
// # Sources and decorators
//
// NewDir serves a folder (a USB stick for sites with no link at all); NewHTTP
// serves any static HTTP server or CDN. Both check the Request first
// (Request.Validate: a clean relative path, a positive MaxSize), refuse a
// file larger than MaxSize before reading it, and hand back a Body that fails
// with ErrTooLarge rather than read past MaxSize, and with
// io.ErrUnexpectedEOF when the file ends before its declared size. Nothing
// here reads a whole response into memory.
//
// WithRetry decorates any Source (restic's backend wrappers are the model):
// it retries the opening of a file on transient errors (IsTransient) with
// capped exponential backoff and jitter, honouring a server's Retry-After.
// Download is the resumable transfer on top: it streams a file into the
// caller's partial file and, when the link drops mid-body, asks again from
// the new offset. ReadAll is Download into memory, for the small documents
// (channel pointer, signing-key list, manifest, manifest patch): every fetch
// the agent makes, of every kind, has the same retries, backoff,
// Retry-After, stall cut-off and resume, so a body that ends early is never
// an error while retries are left. Retry is the same loop for HTTP clients
// that are not a Source (package github). Nothing in this package hashes:
// the caller verifies every byte against the signed manifest, so an origin
// is never trusted.
//
// # The hostile network
//
// Devices sit behind bad links. The HTTP client has a stall watchdog (after
// restic's watchdog round tripper): a transfer that receives no byte for
// HTTPOptions.StallTimeout is cancelled with a *StallError. Package faultnet
// is a misbehaving server (dropped connections, truncated and corrupted
// bodies, wrong lengths, 429/503 with Retry-After, stalls, redirect loops,
// endless bodies) that the tests of this package run every path against.
package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode"
)

// Errors a caller branches on.
var (
	// ErrNotFound: the origin has no such file.
	ErrNotFound = errors.New("origin: not found")
	// ErrNotModified: the file has the ETag the caller already holds.
	ErrNotModified = errors.New("origin: not modified")
	// ErrTooLarge: the file is larger than the caller's cap.
	ErrTooLarge = errors.New("origin: response over the size limit")
	// ErrInvalidPath: the request path is not a clean origin-relative path.
	ErrInvalidPath = errors.New("origin: invalid path")
	// ErrInvalidRequest: the request's offset or size cap is out of range.
	ErrInvalidRequest = errors.New("origin: invalid request")
	// ErrRange: the request's offset is past the end of the file.
	ErrRange = errors.New("origin: offset past the end of the file")
	// ErrRedirects: the origin redirected too often, or from https to http.
	ErrRedirects = errors.New("origin: bad redirect")
	// ErrChanged: the file changed on the origin during a resumed download;
	// the partial file must be discarded.
	ErrChanged = errors.New("origin: file changed during the download")
	// ErrProtocol: the origin's answer contradicts the request (a range
	// other than the one asked for, a malformed header).
	ErrProtocol = errors.New("origin: malformed response")
	// ErrRetriesExhausted: a transient failure outlasted the retry policy;
	// the error wraps the last attempt's error too.
	ErrRetriesExhausted = errors.New("origin: retries exhausted")
	// ErrStalled: a transfer received nothing for the stall timeout; see
	// *StallError.
	ErrStalled = errors.New("origin: stalled")
	// ErrStatus: the origin answered an HTTP status this package has no
	// better error for; see *StatusError.
	ErrStatus = errors.New("origin: unexpected HTTP status")
)

// MaxPathLen is the longest request path, in bytes.
const MaxPathLen = 4096

// Request says what to fetch.
type Request struct {
	Path    string // origin-relative, slash-separated
	Offset  int64  // start reading here (resume); 0 for the whole file
	MaxSize int64  // refuse or cut off a file larger than this; required (> 0)
	ETag    string // if set and the file still has this ETag: ErrNotModified
}

// Object is an open file on an origin.
type Object struct {
	Body   io.ReadCloser // reads at most MaxSize-Offset bytes, then fails with ErrTooLarge
	Size   int64         // total size of the file, or -1 if unknown
	Offset int64         // where Body starts: Request.Offset if honoured, else 0
	ETag   string        // opaque version tag (an HTTP ETag, or one made from Last-Modified), "" if the origin has none
}

// Source is an origin.
type Source interface {
	// Fetch opens a file. The caller closes Body.
	Fetch(ctx context.Context, req Request) (*Object, error)
}

// Validate checks a request before any I/O: the path is relative, clean and
// slash-separated (no "..", ".", empty component, backslash or control
// character), MaxSize is positive and Offset lies in [0, MaxSize]. Every
// Source calls it first, so a hostile manifest cannot walk out of an origin.
func (r Request) Validate() error {
	p := r.Path
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidPath, p, why) }
	switch {
	case len(p) > MaxPathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case !fs.ValidPath(p) || p == ".":
		return bad("want a clean relative path without \"..\"")
	case strings.ContainsRune(p, '\\'):
		return bad("contains a backslash")
	case strings.ContainsFunc(p, unicode.IsControl):
		return bad("contains a control character")
	case r.MaxSize <= 0:
		return fmt.Errorf("%w: %q: max size %d must be positive", ErrInvalidRequest, p, r.MaxSize)
	case r.Offset < 0 || r.Offset > r.MaxSize:
		return fmt.Errorf("%w: %q: offset %d outside [0, %d]", ErrInvalidRequest, p, r.Offset, r.MaxSize)
	}
	return nil
}

// StallError says a transfer was cancelled because no byte arrived for
// Timeout. It is transient: a retry may find a better link.
type StallError struct {
	Timeout time.Duration
}

// Error says how long the transfer was silent.
func (e *StallError) Error() string {
	return fmt.Sprintf("origin: stalled: no data for %s", e.Timeout)
}

// Is makes errors.Is(err, ErrStalled) true.
func (e *StallError) Is(target error) bool { return target == ErrStalled }

// RetryAfterError is a 429 or 503 answer that said when to come back.
type RetryAfterError struct {
	Status int           // the HTTP status code
	Wait   time.Duration // from the Retry-After header
}

// Error says the status and how long the server asked to wait.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("origin: server busy (status %d): retry after %s", e.Status, e.Wait)
}

// StatusError is an HTTP answer this package has no better error for.
type StatusError struct {
	Code   int    // the HTTP status code
	Status string // the status line, e.g. "500 Internal Server Error"
}

// Error quotes the status line.
func (e *StatusError) Error() string {
	return fmt.Sprintf("origin: unexpected HTTP status %q", e.Status)
}

// Is makes errors.Is(err, ErrStatus) true.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }
