package origin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
)

// Defaults of HTTPOptions.
const (
	DefaultStallTimeout = 30 * time.Second
	DefaultMaxRedirects = 10
)

// HTTPOptions configure NewHTTP. The zero value is usable.
type HTTPOptions struct {
	// Version goes into the User-Agent: "ferry-agent/<Version>".
	Version string
	// StallTimeout cancels a transfer that receives no byte for this long
	// (config key stall_sec); 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// MaxRedirects caps the redirects followed; 0 means DefaultMaxRedirects.
	MaxRedirects int
	// Header is sent with every request (an Authorization header, say).
	Header http.Header
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport (proxy from the environment, the system's TLS
	// roots). It is wrapped by the stall watchdog.
	Transport http.RoundTripper
}

// HTTPOptionsFromConfig returns the HTTP options of the agent's
// configuration (stall_sec) for an agent of the given version.
func HTTPOptionsFromConfig(c *config.Config, version string) HTTPOptions {
	return HTTPOptions{Version: version, StallTimeout: time.Duration(c.StallSec) * time.Second}
}

// httpSource is an origin on a static HTTP server, a CDN or object storage.
type httpSource struct {
	base   *url.URL
	client *http.Client
	ua     string
	header http.Header
}

// NewHTTP returns a Source that fetches base + "/" + Request.Path with GET.
// It asks with If-None-Match for a known ETag (304 is ErrNotModified); from
// a server that sends Last-Modified and no ETag, the Object's ETag is made
// from Last-Modified and asked with If-Modified-Since, so that a poll with
// nothing new is one body-less 304 there too. It asks with Range for an
// offset (206 is honoured; a server that ignores Range answers 200 and the
// Object says Offset 0). 404 and 410 are ErrNotFound; 429 and 503 with
// Retry-After are a *RetryAfterError; other unexpected answers are a
// *StatusError. A Content-Length over MaxSize is ErrTooLarge before a byte
// of the body is read.
func NewHTTP(base *url.URL, opts HTTPOptions) Source {
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = DefaultStallTimeout
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	rt := opts.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	limit := opts.MaxRedirects
	client := &http.Client{
		Transport: &watchdog{next: rt, timeout: opts.StallTimeout},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > limit {
				return fmt.Errorf("%w: stopped after %d redirects at %q", ErrRedirects, limit, req.URL.Redacted())
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: refusing a downgrade from https to %q", ErrRedirects, req.URL.Redacted())
			}
			return nil
		},
	}
	ua := "ferry-agent/" + opts.Version
	if opts.Version == "" {
		ua = "ferry-agent/devel"
	}
	return &httpSource{base: base, client: client, ua: ua, header: opts.Header}
}

// Fetch GETs req.Path from the server.
func (s *httpSource) Fetch(ctx context.Context, req Request) (*Object, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	u := s.base.JoinPath(req.Path)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("origin: get %q: %w", req.Path, err)
	}
	for k, v := range s.header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("User-Agent", s.ua)
	// Blobs are compressed already; and a transparently gunzipped body
	// would break both Content-Length checks and byte offsets for resume.
	hreq.Header.Set("Accept-Encoding", "identity")
	if req.ETag != "" {
		conditional(hreq.Header, req.ETag)
	}
	if req.Offset > 0 {
		hreq.Header.Set("Range", fmt.Sprintf("bytes=%d-", req.Offset))
	}
	resp, err := s.client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("origin: get %q: %w", req.Path, err)
	}
	obj, err := answer(ctx, req, resp)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return obj, nil
}
