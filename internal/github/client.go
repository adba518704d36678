package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/origin"
)

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound: GitHub answered 404 (no such release, asset, ref or file;
	// also what GitHub says about a private repository without a token).
	ErrNotFound = errors.New("github: not found")
	// ErrRateLimited: the API rate limit is exhausted; see *RateLimitError.
	ErrRateLimited = errors.New("github: rate limited")
	// ErrUnsigned: the release carries none of Ferry's signed assets.
	ErrUnsigned = errors.New("github: release has no Ferry assets")
	// ErrTreeTooLarge: a tree is over max_tree_kb or max_tree_files.
	ErrTreeTooLarge = errors.New("github: tree over the configured limit")
	// ErrAssetName: an origin path cannot be stored as a release asset name.
	ErrAssetName = errors.New("github: path cannot be a release asset name")
	// ErrProtocol: GitHub's answer is not what the API promises.
	ErrProtocol = errors.New("github: unexpected response")
)

const (
	maxJSON      = 8 << 20  // a release with a thousand assets is about 2 MiB
	maxErrorBody = 64 << 10 // error bodies are a few hundred bytes
	maxRedirects = 5
	apiVersion   = "2022-11-28"
)

// Options are the parts of a Client that do not come from the [github]
// config section.
type Options struct {
	Version    string                 // the agent's version, for User-Agent "ferry-agent/<Version>"
	HTTPClient *http.Client           // nil: a client over http.DefaultTransport
	Logger     *slog.Logger           // nil: slog.Default()
	Allow      func(path string) bool // developer channel filter on paths below subdir; nil: every file
	Now        func() time.Time       // nil: time.Now
	// CacheFile, if set, keeps the conditional-request cache across
	// processes (a cron-driven agent): see cache.go.
	CacheFile string
	// Retry is the policy of every GET (API JSON, tree listings, raw
	// files; release assets are retried by the origin.Download of the
	// update cycle): the agent's http_retries, backoff_sec and
	// max_backoff_sec. The zero value makes no retry.
	Retry origin.RetryPolicy
	// StallTimeout cancels a request or body that receives no byte for this
	// long (the agent's stall_sec); 0 means origin.DefaultStallTimeout.
	StallTimeout time.Duration
}

// Client talks to the GitHub REST API for one repository. It is safe for
// concurrent use. It remembers the ETags of the few documents a device polls
// (the latest release, the branch ref) so that a poll with nothing new is one
// 304, and it remembers a rate limit until GitHub's reset time, refusing to
// send anything before it.
type Client struct {
	cfg   config.GitHub
	token string // never logged, never in an error
	ua    string
	hc    *http.Client
	retry origin.RetryPolicy
	log   *slog.Logger
	allow func(string) bool
	now   func() time.Time

	mu           sync.Mutex
	cacheFile    string
	etags        map[string]cached // by URL: conditional GETs
	limitedUntil time.Time
	commits      map[string]string            // manifest version → full commit SHA, for OpenRaw
	manifests    map[string]*manifestAtCommit // by channel
}

type cached struct {
	etag string
	body []byte
}

// New returns a Client for the repository of cfg. It reads cfg.TokenFile (if
// set) once, now; the token is sent as "Authorization: Bearer" to the API and
// raw hosts only, never across a redirect to another host, and never logged.
func New(cfg config.GitHub, o Options) (*Client, error) {
	if cfg.Owner == "" || cfg.Repo == "" {
		return nil, fmt.Errorf("github: owner %q and repo %q are both required", cfg.Owner, cfg.Repo)
	}
	cfg = withDefaults(cfg)
	c := &Client{cfg: cfg, ua: "ferry-agent/" + cmpOr(o.Version, "dev"), log: cmpOr(o.Logger, slog.Default()), retry: o.Retry,
		allow: o.Allow, now: o.Now, etags: map[string]cached{}, commits: map[string]string{},
		manifests: map[string]*manifestAtCommit{}, cacheFile: o.CacheFile}
	c.loadCache()
	if c.now == nil {
		c.now = time.Now
	}
	hc := http.Client{}
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Transport = origin.StallTransport(hc.Transport, o.StallTimeout)
	c.hc = &hc
	if c.retry.Logger == nil {
		c.retry.Logger = c.log
	}
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("github: token_file: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	return c, nil
}

func withDefaults(g config.GitHub) config.GitHub {
	g.Branch = cmpOr(g.Branch, "main")
	g.APIURL = strings.TrimSuffix(cmpOr(g.APIURL, "https://api.github.com"), "/")
	g.RawURL = strings.TrimSuffix(g.RawURL, "/")
	g.Subdir = strings.Trim(g.Subdir, "/")
	if g.MaxTreeKB <= 0 {
		g.MaxTreeKB = 8192
	}
	if g.MaxTreeFiles <= 0 {
		g.MaxTreeFiles = 20000
	}
	return g
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// repoURL returns the API URL of a path below /repos/{owner}/{repo}/.
func (c *Client) repoURL(format string, args ...any) string {
	return fmt.Sprintf("%s/repos/%s/%s/", c.cfg.APIURL, url.PathEscape(c.cfg.Owner), url.PathEscape(c.cfg.Repo)) +
		fmt.Sprintf(format, args...)
}

// newRequest builds a request with Ferry's User-Agent and GitHub's API
// headers; auth says whether the token goes with it.
func (c *Client) newRequest(ctx context.Context, method, u string, body io.Reader, accept string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("github: %s %q: %w", method, u, err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", cmpOr(accept, "application/vnd.github+json"))
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends req unless the client is rate limited, notes the rate-limit
// headers, and turns every answer that is not 2xx, 3xx or 304 into an error
// (*APIError or *RateLimitError), closing its body.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("github: %s %q: %w", req.Method, req.URL.Redacted(), err)
	}
	if err := c.noteRate(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		e := newAPIError(req, resp)
		if e.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "rate limit") {
			// A secondary limit that gave no time: GitHub asks for at least a minute.
			return nil, c.limit(c.now().Add(time.Minute), resp, ParseRate(resp.Header))
		}
		return nil, e
	}
	return resp, nil
}

// getJSON GETs u and decodes its JSON body (at most max bytes) into v. With
// conditional set, it sends the ETag of the last answer and, on a 304,
// decodes that answer again: changed is false then. A transient failure (a
// dropped or stalled connection, a body cut short, a 5xx) is retried under
// the Client's policy; a rate limit is not (the gate waits for its reset).
func (c *Client) getJSON(ctx context.Context, u string, max int64, conditional bool, v any) (changed bool, err error) {
	err = c.withRetry(ctx, u, func(ctx context.Context) error {
		var err error
		changed, err = c.getJSONOnce(ctx, u, max, conditional, v)
		return err
	})
	return changed, err
}

// withRetry runs one GET (what names it in the log) under the Client's
// retry policy: the same loop, backoff and Retry-After as every fetch of
// the agent (origin.Retry).
func (c *Client) withRetry(ctx context.Context, what string, get func(ctx context.Context) error) error {
	return origin.Retry(ctx, c.retry, what, func(ctx context.Context) (bool, error) {
		return false, get(ctx)
	})
}

// getJSONOnce is one attempt of getJSON.
func (c *Client) getJSONOnce(ctx context.Context, u string, max int64, conditional bool, v any) (changed bool, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil, "")
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	prev, ok := c.etags[u]
	c.mu.Unlock()
	if conditional && ok {
		req.Header.Set("If-None-Match", prev.etag)
	}
	resp, err := c.do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body := prev.body
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional && ok:
	case resp.StatusCode == http.StatusOK:
		changed = true
		if body, err = readCapped(resp, max); err != nil {
			return false, fmt.Errorf("github: GET %q: %w", u, err)
		}
		if etag := resp.Header.Get("ETag"); conditional && etag != "" {
			c.mu.Lock()
			c.etags[u] = cached{etag: etag, body: body}
			c.saveCache()
			c.mu.Unlock()
		}
	default:
		return false, fmt.Errorf("%w: GET %q: status %q", ErrProtocol, u, resp.Status)
	}
	if err := parseJSON(body, v); err != nil {
		return false, fmt.Errorf("GET %q: %w", u, err)
	}
	return changed, nil
}

// sendJSON sends a request with a JSON body (nil for none) and decodes a
// JSON answer into out (nil to discard it).
func (c *Client) sendJSON(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("github: %s %q: %w", method, u, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, u, body, "")
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	b, err := readCapped(resp, maxJSON)
	if err != nil {
		return fmt.Errorf("github: %s %q: %w", method, u, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s %q: %v", ErrProtocol, method, u, err)
	}
	return nil
}

// readCapped reads a whole (small, JSON) body, refusing one over max bytes
// from its Content-Length before reading, or while reading.
func readCapped(resp *http.Response, max int64) ([]byte, error) {
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: response of %d bytes, over %d", ErrProtocol, resp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: response over %d bytes", ErrProtocol, max)
	}
	return b, nil
}

// parseJSON decodes a JSON answer; malformed JSON is ErrProtocol.
func parseJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return nil
}
