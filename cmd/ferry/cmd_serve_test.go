package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// startServe serves a small origin on 127.0.0.1 and returns its base URL.
func startServe(t *testing.T) string {
	t.Helper()
	origin := t.TempDir()
	for name, content := range map[string]string{"channels/stable.note": "pointer\n", "blobs/sha256/ab/ab.zst": "0123456789", ".tmp-123": "partial"} {
		p := filepath.Join(origin, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(origin, "escape")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, origin, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	return "http://" + ln.Addr().String()
}

func TestServe(t *testing.T) {
	t.Parallel()
	base := startServe(t)
	etag := fetch(t, "GET", base+"/channels/stable.note", nil).header
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		want   response
	}{
		{"file", "GET", "/channels/stable.note", nil, response{200, "pointer\n", "text/plain; charset=utf-8", "no-cache"}},
		{"head", "HEAD", "/channels/stable.note", nil, response{200, "", "text/plain; charset=utf-8", "no-cache"}},
		{"conditional poll", "GET", "/channels/stable.note", map[string]string{"If-None-Match": etag}, response{304, "", "", "no-cache"}},
		{"other etag", "GET", "/channels/stable.note", map[string]string{"If-None-Match": `"x"`}, response{200, "pointer\n", "text/plain; charset=utf-8", "no-cache"}},
		{"range", "GET", "/blobs/sha256/ab/ab.zst", map[string]string{"Range": "bytes=2-5"}, response{206, "2345", "application/octet-stream", "public, max-age=31536000, immutable"}},
		{"no listing", "GET", "/", nil, response{status: 404}},
		{"no folder listing", "GET", "/blobs/", nil, response{status: 404}},
		{"no dot files", "GET", "/.tmp-123", nil, response{status: 404}},
		{"no escape by dots", "GET", "/../../etc/hostname", nil, response{status: 404}},
		{"no escape by symlink", "GET", "/escape", nil, response{status: 404}},
		{"missing", "GET", "/channels/beta.note", nil, response{status: 404}},
		{"read only", "POST", "/channels/stable.note", nil, response{status: 405}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fetch(t, tt.method, base+tt.path, tt.header)
			if got.status != 200 && got.status != 206 && got.status != 304 {
				got.response = response{status: got.status} // error pages: status only
			}
			if diff := cmp.Diff(tt.want, got.response, cmp.AllowUnexported(response{})); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}
}

type response struct {
	status       int
	body         string
	contentType  string
	cacheControl string
}

type fetched struct {
	response
	header string // ETag
}

func fetch(t *testing.T, method, url string, header map[string]string) fetched {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fetched{response{resp.StatusCode, string(body), resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control")}, resp.Header.Get("ETag")}
}
