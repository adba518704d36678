package fakegh_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
)

func get(t *testing.T, u string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestTreeIsGits(t *testing.T) {
	t.Parallel()
	dir := fakegh.InitRepo(t, map[string]string{"a.txt": "hello\n", "d/b.sh*": "#!/bin/sh\n", "d/e/c": "c"})
	s := fakegh.New(t, "o", "r", dir)
	head := strings.TrimSpace(fakegh.Git(t, dir, "rev-parse", "HEAD"))
	var commit struct {
		Tree struct{ SHA string } `json:"tree"`
	}
	decode(t, get(t, s.URL+"/repos/o/r/git/commits/"+head, nil), &commit)
	if want := strings.TrimSpace(fakegh.Git(t, dir, "rev-parse", "HEAD^{tree}")); commit.Tree.SHA != want {
		t.Fatalf("commit tree %q, git says %q", commit.Tree.SHA, want)
	}
	var tree struct {
		Tree []struct {
			Path, Mode, Type, SHA string
			Size                  int64
		} `json:"tree"`
		Truncated bool `json:"truncated"`
	}
	decode(t, get(t, s.URL+"/repos/o/r/git/trees/"+commit.Tree.SHA+"?recursive=1", nil), &tree)
	got := map[string]string{}
	for _, e := range tree.Tree {
		got[e.Path] = e.Mode + " " + e.Type + " " + e.SHA
	}
	for _, p := range []string{"a.txt", "d", "d/b.sh", "d/e", "d/e/c"} {
		f := strings.Fields(fakegh.Git(t, dir, "ls-tree", "HEAD", p)) // mode type sha path
		want := strings.Join(f[:3], " ")
		if got[p] != want {
			t.Errorf("tree entry %q = %q, git says %q", p, got[p], want)
		}
	}
	s.SetTruncateAt(2)
	decode(t, get(t, s.URL+"/repos/o/r/git/trees/"+commit.Tree.SHA+"?recursive=1", nil), &tree)
	if !tree.Truncated || len(tree.Tree) != 2 {
		t.Errorf("truncated listing: truncated %v with %d entries, want true with 2", tree.Truncated, len(tree.Tree))
	}
	raw := get(t, s.RawURL+"/o/r/"+head+"/d/e/c", nil)
	if b, _ := io.ReadAll(raw.Body); string(b) != "c" {
		t.Errorf("raw d/e/c = %q", b)
	}
}

func TestETagAndRateLimit(t *testing.T) {
	t.Parallel()
	s := fakegh.New(t, "o", "r", fakegh.InitRepo(t, map[string]string{"a": "a"}))
	u := s.URL + "/repos/o/r/git/ref/heads/main"
	first := get(t, u, nil)
	etag, left := first.Header.Get("ETag"), first.Header.Get("X-RateLimit-Remaining")
	second := get(t, u, map[string]string{"If-None-Match": etag})
	if second.StatusCode != http.StatusNotModified || second.Header.Get("X-RateLimit-Remaining") != left {
		t.Errorf("conditional GET: %d with %s remaining, want 304 with %s (free)", second.StatusCode, second.Header.Get("X-RateLimit-Remaining"), left)
	}
	reset := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		use429 bool
		status int
	}{{false, http.StatusForbidden}, {true, http.StatusTooManyRequests}} {
		s.SetRate(60, 0, reset, tc.use429)
		resp := get(t, u, nil)
		if resp.StatusCode != tc.status || resp.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("exhausted (429 %v): status %d, remaining %q", tc.use429, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
		if tc.use429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if st := s.Stats(); st.Requests != 4 || st.NotModified != 1 || st.Charged != 1 || st.BytesOut == 0 || st.BytesIn == 0 {
		t.Errorf("stats %+v, want 4 requests, one 304, one charged, bytes both ways", st)
	}
}

func TestAssetRedirect(t *testing.T) {
	t.Parallel()
	s := fakegh.New(t, "o", "r", fakegh.InitRepo(t, map[string]string{"a": "a"}))
	s.PutAsset("v1", "x.bin", []byte("payload"))
	var rel struct {
		Assets []struct {
			URL string `json:"url"`
		} `json:"assets"`
	}
	decode(t, get(t, s.URL+"/repos/o/r/releases/latest", nil), &rel)
	resp := get(t, rel.Assets[0].URL, map[string]string{"Accept": "application/octet-stream"})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc == "" {
		t.Fatalf("asset download: %d to %q, want a 302", resp.StatusCode, loc)
	}
	if r := get(t, loc, map[string]string{"Authorization": "Bearer t"}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("storage with Authorization: %d, want 400 as pre-signed storage answers", r.StatusCode)
	}
	r := get(t, loc, map[string]string{"Range": "bytes=3-"})
	if b, _ := io.ReadAll(r.Body); r.StatusCode != http.StatusPartialContent || string(b) != "load" {
		t.Errorf("ranged storage GET: %d %q", r.StatusCode, b)
	}
}
