package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/origin"
)

// AssetName returns the release asset name of an origin path: the path with
// each "/" turned into "_", e.g. "channels/stable.note" becomes
// "channels_stable.note". Publisher and agent both use it. GitHub keeps only
// ASCII letters, digits, ".", "-" and "_" in an asset name and renames
// anything else, so every other byte, and a leading or trailing ".", is
// written as "-" and two upper-case hex digits ("a b" → "a-20b"). The
// mapping is one to one over Ferry's layout; for other paths AssetsFromDir
// and ReleaseAssets refuse two paths of a release with the same name. It
// refuses only a path that is empty or not clean.
func AssetName(p string) (string, error) {
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("%w: %q: not a clean relative path", ErrAssetName, p)
		}
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			b.WriteByte('_')
		case c == '.' && (i == 0 || i == len(p)-1):
			fmt.Fprintf(&b, "-%02X", c)
		case assetRune(rune(c)):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "-%02X", c)
		}
	}
	return b.String(), nil
}

// assetRune reports whether GitHub keeps r in an asset name.
func assetRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
}

// releaseSource serves a Ferry origin from the assets of the latest release.
type releaseSource struct {
	c *Client

	mu  sync.Mutex
	rel *Release // the release of the last refresh
}

// NewReleaseSource returns the stable channel's origin: each origin path is
// the release asset AssetName(path) of the repository's latest release, so
// that the agent verifies exactly as with a Ferry origin (root keys → signing
// keys → channel pointer → manifest → SHA-256 of every blob).
//
// A poll costs one conditional request: the release listing is fetched again
// (with If-None-Match, a 304 when nothing changed) for every channel pointer
// ("channels/…"), and for other paths only when none is held or the asset is
// missing from the one held. An asset's ETag is its id and update time, so
// a pointer fetched with the ETag of the last poll is origin.ErrNotModified
// without any download. A release without Ferry's assets is ErrUnsigned.
func NewReleaseSource(c *Client) origin.Source {
	return &releaseSource{c: c}
}

// Fetch implements origin.Source.
func (s *releaseSource) Fetch(ctx context.Context, req origin.Request) (*origin.Object, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	name, err := AssetName(req.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", origin.ErrInvalidPath, err)
	}
	fresh := strings.HasPrefix(req.Path, "channels/")
	for attempt := 0; ; attempt++ {
		a, err := s.asset(ctx, name, fresh)
		if errors.Is(err, origin.ErrNotFound) && !fresh {
			fresh = true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("github: %q: %w", req.Path, err)
		}
		obj, err := s.open(ctx, a, req)
		if errors.Is(err, ErrNotFound) && attempt == 0 {
			fresh = true // replaced since the listing: look again
			continue
		}
		return obj, err
	}
}

// asset finds the asset called name in the release, refreshing the release
// first when fresh or when none is held.
func (s *releaseSource) asset(ctx context.Context, name string, fresh bool) (Asset, error) {
	s.mu.Lock()
	rel := s.rel
	s.mu.Unlock()
	if rel == nil || fresh {
		r, err := s.c.latestReleaseOnce(ctx)
		if errors.Is(err, ErrNotFound) {
			return Asset{}, fmt.Errorf("%w: the repository has no published release: %w", origin.ErrNotFound, err)
		}
		if err != nil {
			return Asset{}, err
		}
		if err := checkFerryRelease(r); err != nil {
			return Asset{}, err
		}
		s.mu.Lock()
		s.rel, rel = r, r
		s.mu.Unlock()
	}
	a, ok := rel.Asset(name)
	if !ok || a.State != "" && a.State != "uploaded" {
		return Asset{}, fmt.Errorf("%w: release %q has no asset %q", origin.ErrNotFound, rel.TagName, name)
	}
	return a, nil
}

// checkFerryRelease refuses a release that carries no signing-key bundle:
// it was not published by `ferry release --github`.
func checkFerryRelease(r *Release) error {
	keys, _ := AssetName(layout.SigningKeys)
	if _, ok := r.Asset(keys); ok {
		return nil
	}
	return fmt.Errorf("%w: release %q has no asset %q: publish it with `ferry release --github`, "+
		"or set allow_unsigned = true in [github] to install the tagged tree unsigned", ErrUnsigned, r.TagName, keys)
}

// assetETag is the version tag of an asset: replacing an asset (delete and
// upload) gives it a new id.
func assetETag(a Asset) string {
	return fmt.Sprintf(`"asset-%d-%d-%d"`, a.ID, a.UpdatedAt.Unix(), a.Size)
}

// assetURL is where an asset is downloaded from. Without a token (a public
// repository) it is the browser download link, which does not use the API
// rate limit of 60 requests an hour: a first install of a few hundred files
// would exhaust it. With a token (perhaps a private repository, whose
// browser links need a session) it is the API URL.
func (c *Client) assetURL(a Asset) string {
	if c.token == "" && a.DownloadURL != "" {
		return a.DownloadURL
	}
	return a.URL
}

// open downloads an asset (see assetURL), answered by a 302 to storage.
func (s *releaseSource) open(ctx context.Context, a Asset, req origin.Request) (*origin.Object, error) {
	etag := assetETag(a)
	switch {
	case req.ETag == etag:
		return nil, fmt.Errorf("github: %q: %w", req.Path, origin.ErrNotModified)
	case a.Size > req.MaxSize:
		return nil, fmt.Errorf("github: %q is %d bytes, over %d: %w", req.Path, a.Size, req.MaxSize, origin.ErrTooLarge)
	case req.Offset > a.Size:
		return nil, fmt.Errorf("github: %q: offset %d past its %d bytes: %w", req.Path, req.Offset, a.Size, origin.ErrRange)
	}
	obj := &origin.Object{Size: a.Size, ETag: etag}
	if req.Offset == a.Size && a.Size > 0 { // nothing left to read: no request
		obj.Offset, obj.Body = a.Size, io.NopCloser(strings.NewReader(""))
		return obj, nil
	}
	resp, err := s.c.download(ctx, s.c.assetURL(a), "application/octet-stream", req.Offset)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", origin.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(req.Offset, 10)+"-") {
			drain(resp.Body)
			return nil, fmt.Errorf("%w: %q: Content-Range %q for offset %d", ErrProtocol, req.Path, resp.Header.Get("Content-Range"), req.Offset)
		}
		obj.Offset = req.Offset
	default:
		drain(resp.Body)
		return nil, fmt.Errorf("%w: %q: status %q", ErrProtocol, req.Path, resp.Status)
	}
	obj.Body = &sizedBody{rc: resp.Body, path: req.Path, limit: req.MaxSize - obj.Offset, want: a.Size - obj.Offset}
	return obj, nil
}

// sizedBody reads at most limit bytes (then fails with origin.ErrTooLarge)
// and turns an end before want bytes into io.ErrUnexpectedEOF.
type sizedBody struct {
	rc          io.ReadCloser
	path        string
	limit, want int64
	n           int64
	err         error
}

func (b *sizedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if rest := b.limit - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.limit:
		n -= int(b.n - b.limit)
		b.n, b.err = b.limit, fmt.Errorf("github: %q: more than %d bytes: %w", b.path, b.limit, origin.ErrTooLarge)
	case err == io.EOF && b.n < b.want:
		b.err = fmt.Errorf("github: %q: %d of %d bytes: %w", b.path, b.n, b.want, io.ErrUnexpectedEOF)
	case err != nil:
		b.err = err
	}
	return n, b.err
}

func (b *sizedBody) Close() error { return b.rc.Close() }
