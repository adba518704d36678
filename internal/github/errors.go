package github

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an answer of 400 or above that is not a rate limit, with the
// message of GitHub's JSON error body.
type APIError struct {
	Method     string
	URL        string // without credentials
	StatusCode int
	Message    string       // GitHub's "message", e.g. "Validation Failed"
	Errors     []FieldError // GitHub's "errors", on a 422
	DocURL     string       // GitHub's "documentation_url"
}

// FieldError is one entry of the "errors" list of a 422 answer.
type FieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// Error says which request failed, with GitHub's message and field errors.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "github: %s %q: %d", e.Method, e.URL, e.StatusCode)
	if e.Message != "" {
		fmt.Fprintf(&b, " %s", e.Message)
	}
	for i, f := range e.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep)
		if f.Message != "" {
			b.WriteString(f.Message)
			continue
		}
		fmt.Fprintf(&b, "%s.%s %s", f.Resource, f.Field, f.Code)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Transient reports whether the same request may succeed later: a 5xx or
// a 408 answer (origin.IsTransient asks it). A rate limit is not: the
// Client waits for its reset instead.
func (e *APIError) Transient() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout
}

func newAPIError(req *http.Request, resp *http.Response) *APIError {
	e := &APIError{Method: req.Method, URL: req.URL.Redacted(), StatusCode: resp.StatusCode}
	var body struct {
		Message string       `json:"message"`
		Errors  []FieldError `json:"errors"`
		DocURL  string       `json:"documentation_url"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if json.Unmarshal(b, &body) == nil {
		e.Message, e.Errors, e.DocURL = body.Message, body.Errors, body.DocURL
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// RateLimitError says GitHub refused to answer until Until (from
// X-RateLimit-Reset or Retry-After). Until then the Client sends nothing and
// returns this error at once: a fleet never hammers the API.
type RateLimitError struct {
	Until      time.Time
	StatusCode int // 403 or 429; 0 when the client refused locally
	Limit      int // X-RateLimit-Limit, 0 if unknown
}

// Error says until when, and how to get a higher limit.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("github: rate limited until %s (status %d, limit %d an hour); set token_file in [github] for a higher limit",
		e.Until.UTC().Format(time.RFC3339), e.StatusCode, e.Limit)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Rate is what GitHub said about the rate limit in its last answer.
type Rate struct {
	Limit, Remaining int       // -1 when the header is missing
	Reset            time.Time // zero when the header is missing
	RetryAfter       time.Duration
}

// ParseRate reads the X-RateLimit-* and Retry-After headers. The reset time
// is in seconds since the epoch; a value too large for that is read as
// milliseconds, the form octokit's recorded fixtures normalise it to.
func ParseRate(h http.Header) Rate {
	r := Rate{Limit: atoiOr(h.Get("X-RateLimit-Limit"), -1), Remaining: atoiOr(h.Get("X-RateLimit-Remaining"), -1)}
	if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && s > 0 {
		if s > 1e11 {
			r.Reset = time.UnixMilli(s)
		} else {
			r.Reset = time.Unix(s, 0)
		}
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		r.RetryAfter = time.Duration(s) * time.Second
	}
	return r
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

// gate refuses to send while a known rate limit lasts.
func (c *Client) gate() error {
	c.mu.Lock()
	until := c.limitedUntil
	c.mu.Unlock()
	if c.now().Before(until) {
		return &RateLimitError{Until: until}
	}
	return nil
}

// noteRate reads the rate-limit headers of an answer. A 403 or 429 with
// Retry-After or no requests remaining is a rate limit: it returns a
// *RateLimitError and logs until when. A success that used the last request
// closes the gate until the reset without an error.
func (c *Client) noteRate(resp *http.Response) error {
	r := ParseRate(resp.Header)
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden && (r.RetryAfter > 0 || r.Remaining == 0))
	var until time.Time
	switch {
	case limited && r.RetryAfter > 0:
		until = c.now().Add(r.RetryAfter)
	case limited && r.Reset.After(c.now()):
		until = r.Reset
	case limited:
		until = c.now().Add(time.Minute) // GitHub's advice when it says nothing
	case r.Remaining == 0 && r.Reset.After(c.now()):
		until = r.Reset
	default:
		return nil
	}
	err := c.limit(until, resp, r)
	if !limited {
		return nil
	}
	return err
}

// limit closes the gate until until, logs it, and returns the error that
// says so.
func (c *Client) limit(until time.Time, resp *http.Response, r Rate) error {
	c.mu.Lock()
	c.limitedUntil = until
	c.mu.Unlock()
	where := ""
	if resp.Request != nil {
		where = resp.Request.URL.Redacted()
	}
	c.log.Warn("github: rate limited until "+until.UTC().Format(time.RFC3339),
		"until", until, "status", resp.StatusCode, "limit", r.Limit, "url", where)
	return &RateLimitError{Until: until, StatusCode: resp.StatusCode, Limit: r.Limit}
}
