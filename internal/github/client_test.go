package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
)

func TestRateLimited(t *testing.T) {
	t.Parallel()
	for _, use429 := range []bool{false, true} {
		t.Run(fmt.Sprintf("429=%v", use429), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c, srv, log := fakeClient(t, devFiles, nil)
			reset := time.Now().Add(90 * time.Minute).Truncate(time.Second)
			srv.SetRate(60, 0, reset, use429)
			_, err := c.DevRelease(ctx)
			var rl *RateLimitError
			if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
				t.Fatalf("error = %v, want a *RateLimitError", err)
			}
			wantStatus := http.StatusForbidden
			if use429 {
				wantStatus = http.StatusTooManyRequests
			}
			if rl.StatusCode != wantStatus || rl.Until.Before(reset) || rl.Until.After(reset.Add(2*time.Second)) {
				t.Errorf("RateLimitError = %+v, want status %d until about %v", rl, wantStatus, reset)
			}
			if !strings.Contains(log.String(), "rate limited until "+rl.Until.UTC().Format(time.RFC3339)) {
				t.Errorf("log does not say until when:\n%s", log)
			}
			// Until the reset, nothing more is sent.
			srv.ResetStats()
			for range 3 {
				if _, err := c.DevRelease(ctx); !errors.Is(err, ErrRateLimited) {
					t.Errorf("while limited: error = %v", err)
				}
			}
			if n := srv.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent while rate limited, want 0", n)
			}
		})
	}
}

func TestLastRequestClosesGate(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c, srv, _ := fakeClient(t, devFiles, func(_ *config.GitHub, o *Options) { o.Now = func() time.Time { return now } })
	srv.SetRate(60, 1, now.Add(time.Hour), false)
	if _, _, err := c.BranchHead(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.ResetStats()
	if _, _, err := c.BranchHead(context.Background()); !errors.Is(err, ErrRateLimited) {
		t.Errorf("after the last request: error = %v, want ErrRateLimited", err)
	}
	now = now.Add(2 * time.Hour)
	srv.SetRate(60, 60, now.Add(time.Hour), false)
	if _, _, err := c.BranchHead(context.Background()); err != nil {
		t.Errorf("after the reset: %v", err)
	}
	if n := srv.Stats().Requests; n != 1 {
		t.Errorf("%d requests, want 1 (none while limited, one after the reset)", n)
	}
}

func TestTokenNeverLogged(t *testing.T) {
	t.Parallel()
	c, srv, log := fakeClient(t, devFiles, nil)
	srv.SetRate(60, 0, time.Now().Add(time.Hour), false)
	_, err := c.DevRelease(context.Background())
	if err == nil {
		t.Fatal("no error while rate limited")
	}
	for what, s := range map[string]string{"log": log.String(), "error": err.Error()} {
		if strings.Contains(s, testToken) {
			t.Errorf("the token is in the %s: %s", what, s)
		}
	}
}

func TestTreeCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kb       int64
		files    int
		chunked  bool
		truncate int
		want     string
	}{
		{name: "content-length over max_tree_kb", kb: 1, files: 1000, want: "max_tree_kb"},
		{name: "chunked over max_tree_kb", kb: 1, files: 1000, chunked: true, want: "max_tree_kb"},
		{name: "too many entries", kb: 1024, files: 5, want: "more than 5 entries (max_tree_files)"},
		{name: "too many entries in a walked tree", kb: 1024, files: 30, truncate: 10, want: "more than 30 entries (max_tree_files)"},
		{name: "within the caps", kb: 1024, files: 1000},
	}
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("dir/file-%02d.txt", i)] = fmt.Sprint(i)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, srv, _ := fakeClient(t, files, func(g *config.GitHub, o *Options) {
				g.MaxTreeKB, g.MaxTreeFiles = tt.kb, tt.files
			})
			if tt.chunked {
				c.hc.Transport = stripLength{}
			}
			srv.SetTruncateAt(tt.truncate)
			_, err := c.DevRelease(context.Background())
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error = %v", err)
			case tt.want != "" && (!errors.Is(err, ErrTreeTooLarge) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want ErrTreeTooLarge naming %s", err, tt.want)
			}
		})
	}
}

// stripLength hides the Content-Length of answers, as a chunked answer has none.
type stripLength struct{}

func (stripLength) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.ContentLength = -1
	}
	return resp, err
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("ETag", `"x"`)
		fmt.Fprint(w, `{"ref":"refs/heads/main","object":{"sha":"0123456789012345678901234567890123456789","type":"commit"}}`)
	}))
	t.Cleanup(srv.Close)
	c, err := New(config.GitHub{Owner: "o", Repo: "r", APIURL: srv.URL}, Options{Version: "9.9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.BranchHead(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := <-got
	if h.Get("User-Agent") != "ferry-agent/9.9" || h.Get("Authorization") != "" || h.Get("If-None-Match") != "" {
		t.Errorf("first request headers: %v", h)
	}
	if _, _, err := c.BranchHead(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h.Get("If-None-Match") != `"x"` {
		t.Errorf("second request If-None-Match = %q, want the ETag of the first answer", h.Get("If-None-Match"))
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    map[string]string
		want Rate
	}{
		{"none", nil, Rate{Limit: -1, Remaining: -1}},
		{"seconds", map[string]string{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"},
			Rate{Limit: 60, Remaining: 0, Reset: time.Unix(1700000000, 0)}},
		{"milliseconds", map[string]string{"X-RateLimit-Reset": "1700000000000"}, Rate{Limit: -1, Remaining: -1, Reset: time.Unix(1700000000, 0)}},
		{"retry-after", map[string]string{"Retry-After": "30"}, Rate{Limit: -1, Remaining: -1, RetryAfter: 30 * time.Second}},
		{"garbage", map[string]string{"X-RateLimit-Remaining": "x", "X-RateLimit-Reset": "-5", "Retry-After": "soon"}, Rate{Limit: -1, Remaining: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			got := ParseRate(h)
			if got.Limit != tt.want.Limit || got.Remaining != tt.want.Remaining || !got.Reset.Equal(tt.want.Reset) || got.RetryAfter != tt.want.RetryAfter {
				t.Errorf("ParseRate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		wait    time.Duration
	}{
		{"retry-after", map[string]string{"Retry-After": "120"}, `{"message":"slow down"}`, 2 * time.Minute},
		{"message only", nil, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes."}`, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			c, err := New(config.GitHub{Owner: "o", Repo: "r", APIURL: srv.URL}, Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.BranchHead(context.Background())
			var rl *RateLimitError
			if !errors.As(err, &rl) || !rl.Until.Equal(now.Add(tt.wait)) {
				t.Fatalf("error = %v, want rate limited until %v", err, now.Add(tt.wait))
			}
			c.BranchHead(context.Background())
			if n := requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1: none while limited", n)
			}
		})
	}
}
