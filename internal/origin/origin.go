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
package origin

import (
	"context"
	"errors"
	"io"
)

// Errors a caller branches on.
var (
	// ErrNotFound: the origin has no such file.
	ErrNotFound = errors.New("origin: not found")
	// ErrNotModified: the file has the ETag the caller already holds.
	ErrNotModified = errors.New("origin: not modified")
	// ErrTooLarge: the file is larger than the caller's cap.
	ErrTooLarge = errors.New("origin: response over the size limit")
)

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
	ETag   string        // opaque version tag, "" if the origin has none
}

// Source is an origin.
type Source interface {
	// Fetch opens a file. The caller closes Body.
	Fetch(ctx context.Context, req Request) (*Object, error)
}
