package origin_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin"
)

// TestHTTPLastModified: from a server that sends Last-Modified and no ETag
// (http.FileServer), the Object's tag is made from Last-Modified and sent
// back as If-Modified-Since: a file that did not change is a body-less 304
// (ErrNotModified), one that changed is read. A file modified within the
// second of the response's Date gets no tag (it could change again within
// that second unseen), and a server that ignores If-Modified-Since and
// answers 200 with the same Last-Modified is ErrNotModified all the same.
func TestHTTPLastModified(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := filepath.Join(dir, "p.note")
	os.WriteFile(name, []byte("one\n"), 0o644)
	hour := time.Now().Add(-time.Hour)
	os.Chtimes(name, hour, hour)
	var mu sync.Mutex
	var ims, inm []string
	ignore := false
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ims, inm = append(ims, r.Header.Get("If-Modified-Since")), append(inm, r.Header.Get("If-None-Match"))
		if ignore {
			r.Header.Del("If-Modified-Since")
		}
		mu.Unlock()
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src := origin.NewHTTP(mustParse(t, srv.URL+"/"), origin.HTTPOptions{})
	get := func(tag string) (string, string, error) {
		t.Helper()
		obj, err := src.Fetch(t.Context(), origin.Request{Path: "p.note", MaxSize: 100, ETag: tag})
		if err != nil {
			return "", "", err
		}
		defer obj.Body.Close()
		data, err := io.ReadAll(obj.Body)
		return string(data), obj.ETag, err
	}
	body, tag, err := get("")
	if err != nil || body != "one\n" || !strings.HasPrefix(tag, "last-modified ") {
		t.Fatalf("first fetch: %q, tag %q, %v; want a tag made from Last-Modified", body, tag, err)
	}
	if _, _, err := get(tag); !errors.Is(err, origin.ErrNotModified) {
		t.Fatalf("conditional fetch of an unchanged file: %v, want ErrNotModified", err)
	}
	if want := strings.TrimPrefix(tag, "last-modified "); ims[1] != want || inm[1] != "" {
		t.Errorf("request headers If-Modified-Since %q, If-None-Match %q; want %q and none", ims[1], inm[1], want)
	}
	mu.Lock()
	ignore = true
	mu.Unlock()
	if _, _, err := get(tag); !errors.Is(err, origin.ErrNotModified) {
		t.Errorf("200 with the same Last-Modified: %v, want ErrNotModified", err)
	}
	os.WriteFile(name, []byte("two\n"), 0o644) // modified now
	if body, _, err := get(tag); err != nil || body != "two\n" {
		t.Fatalf("conditional fetch of a changed file: %q, %v", body, err)
	}
}

// TestHTTPLastModifiedSameSecond: a Last-Modified less than a second before
// the response's Date, or a response without Date, gives no tag.
func TestHTTPLastModifiedSameSecond(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	for name, hdr := range map[string][2]string{
		"same second": {now.Format(http.TimeFormat), now.Format(http.TimeFormat)},
		"no Date":     {now.Add(-time.Hour).Format(http.TimeFormat), ""},
		"bad date":    {"yesterday", now.Format(http.TimeFormat)},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Last-Modified", hdr[0])
			w.Header()["Date"] = []string{hdr[1]}
			if hdr[1] == "" {
				w.Header()["Date"] = nil
			}
			io.WriteString(w, "x")
		}))
		obj, err := origin.NewHTTP(mustParse(t, srv.URL+"/"), origin.HTTPOptions{}).Fetch(t.Context(), origin.Request{Path: "p", MaxSize: 10})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		obj.Body.Close()
		srv.Close()
		if obj.ETag != "" {
			t.Errorf("%s: tag %q, want none", name, obj.ETag)
		}
	}
}
