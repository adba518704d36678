package origin_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/origin/origintest"
)

// etagFiles serves dir like a typical static server: http.FileServer plus
// an ETag from the file's size and modification time.
func etagFiles(dir string) http.Handler {
	fs := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r.URL.Path))); err == nil {
			w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
		}
		fs.ServeHTTP(w, r)
	})
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHTTPConformance(t *testing.T) {
	t.Parallel()
	for name, serve := range map[string]func(dir string) http.Handler{
		"etag":    etagFiles,
		"no-etag": func(dir string) http.Handler { return http.FileServer(http.Dir(dir)) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			origintest.Run(t, func(t *testing.T, files map[string][]byte) origin.Source {
				dir := t.TempDir()
				origintest.WriteFiles(t, filepath.Join(dir, "sub"), files)
				srv := httptest.NewServer(serve(dir))
				t.Cleanup(srv.Close)
				return origin.NewHTTP(mustParse(t, srv.URL+"/sub/"), origin.HTTPOptions{Version: "test"})
			})
		})
	}
}

// fileServer serves one file, "f", with faults planned by the caller.
func fileServer(t *testing.T, data []byte) (*faultnet.Handler, *url.URL) {
	t.Helper()
	dir := t.TempDir()
	origintest.WriteFiles(t, dir, map[string][]byte{"f": data})
	h, srv := faultnet.NewServer(t, etagFiles(dir))
	return h, mustParse(t, srv.URL)
}

var testData = bytes.Repeat([]byte("ferry over the air "), 10_000) // 190 kB

func TestHTTPFaults(t *testing.T) {
	t.Parallel()
	n := int64(len(testData))
	for _, tc := range []struct {
		name    string
		fault   faultnet.Fault
		maxSize int64
		fetch   string // in the error of Fetch
		read    string // in the error of reading the body
		want    error  // errors.Is the error, when not nil
	}{
		{"404", faultnet.Status(404, ""), n, "not found", "", origin.ErrNotFound},
		{"500", faultnet.Status(500, ""), n, `"500 Internal Server Error"`, "", origin.ErrStatus},
		{"503 no Retry-After", faultnet.Status(503, ""), n, `"503 Service Unavailable"`, "", origin.ErrStatus},
		{"redirect loop", faultnet.RedirectLoop(), n, "stopped after 10 redirects", "", origin.ErrRedirects},
		{"endless", faultnet.Endless(), 100_000, "", "more bytes than allowed", origin.ErrTooLarge},
		{"too large", faultnet.Fault{}, n - 1, fmt.Sprintf("is %d bytes, limit %d", n, n-1), "", origin.ErrTooLarge},
		{"truncated", faultnet.Truncate(1000), n, "", "unexpected EOF", io.ErrUnexpectedEOF},
		{"long Content-Length", faultnet.WrongLength(10), 1 << 20, "", "unexpected EOF", io.ErrUnexpectedEOF},
		{"stall in body", faultnet.Stall(1000), n, "", "stalled: no data for 50ms", origin.ErrStalled},
		{"stall before header", faultnet.Stall(-1), n, "stalled: no data for 50ms", "", origin.ErrStalled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, base := fileServer(t, testData)
			h.Plan("/f", tc.fault)
			stall := time.Minute // a stall timeout that only the stall faults reach
			if strings.Contains(tc.name, "stall") {
				stall = 50 * time.Millisecond
			}
			src := origin.NewHTTP(base, origin.HTTPOptions{StallTimeout: stall})
			obj, err := src.Fetch(t.Context(), origin.Request{Path: "f", MaxSize: tc.maxSize})
			wantFired := 1
			if tc.fault == (faultnet.Fault{}) {
				wantFired = 0
			}
			if got := h.Fired("f"); got != wantFired {
				t.Errorf("%d faults struck, want %d", got, wantFired)
			}
			if tc.fetch != "" {
				checkErr(t, "Fetch", err, tc.fetch, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			defer obj.Body.Close()
			got, err := io.Copy(io.Discard, obj.Body)
			checkErr(t, "reading the body", err, tc.read, tc.want)
			if got > tc.maxSize {
				t.Errorf("read %d bytes, over the cap %d", got, tc.maxSize)
			}
		})
	}
}

func checkErr(t *testing.T, what string, err error, msg string, want error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %v, want one saying %q", what, err, msg)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("%s: error %v, want errors.Is %v", what, err, want)
	}
}

func TestHTTPRetryAfter(t *testing.T) {
	t.Parallel()
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		code        int
		after       string
		least, most time.Duration
	}{
		{429, "7", 7 * time.Second, 7 * time.Second},
		{503, "0", 0, 0},
		{503, date, 58 * time.Minute, time.Hour},
	} {
		t.Run(fmt.Sprint(tc.code, tc.after), func(t *testing.T) {
			t.Parallel()
			h, base := fileServer(t, testData)
			h.Plan("/f", faultnet.Status(tc.code, tc.after))
			_, err := origin.NewHTTP(base, origin.HTTPOptions{}).Fetch(t.Context(), origin.Request{Path: "f", MaxSize: 1 << 20})
			var ra *origin.RetryAfterError
			if !errors.As(err, &ra) || ra.Status != tc.code || ra.Wait < tc.least || ra.Wait > tc.most {
				t.Fatalf("Fetch: %v, want a *RetryAfterError of status %d, wait in [%s, %s]", err, tc.code, tc.least, tc.most)
			}
			if !origin.IsTransient(err) {
				t.Errorf("IsTransient(%v) = false", err)
			}
		})
	}
}

func TestHTTPRequestHeaders(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	}))
	t.Cleanup(srv.Close)
	src := origin.NewHTTP(mustParse(t, srv.URL+"/base"), origin.HTTPOptions{
		Version: "1.2.3",
		Header:  http.Header{"Authorization": {"Bearer t0ken"}},
	})
	_, err := src.Fetch(t.Context(), origin.Request{Path: "a/b", Offset: 5, MaxSize: 10, ETag: `"v1"`})
	if !errors.Is(err, origin.ErrNotModified) {
		t.Errorf("Fetch: %v, want ErrNotModified", err)
	}
	hdr := <-got
	for k, want := range map[string]string{
		"User-Agent":    "ferry-agent/1.2.3",
		"If-None-Match": `"v1"`,
		"Range":         "bytes=5-",
		"Authorization": "Bearer t0ken",
	} {
		if hdr.Get(k) != want {
			t.Errorf("request header %s = %q, want %q", k, hdr.Get(k), want)
		}
	}
}

// TestHTTPTooLargeDoesNotReadBody: a Content-Length over the cap is refused
// from the header alone; the body here never comes, so reading it would
// hang until the stall timeout of a minute.
func TestHTTPTooLargeDoesNotReadBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1099511627776")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	src := origin.NewHTTP(mustParse(t, srv.URL), origin.HTTPOptions{StallTimeout: time.Minute})
	_, err := src.Fetch(t.Context(), origin.Request{Path: "big", MaxSize: 1 << 20})
	checkErr(t, "Fetch", err, "is 1099511627776 bytes, limit 1048576", origin.ErrTooLarge)
}

func TestHTTPIgnoredRange(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	h.Plan("/f", faultnet.IgnoreRange())
	obj, err := origin.NewHTTP(base, origin.HTTPOptions{}).Fetch(t.Context(), origin.Request{Path: "f", Offset: 100, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	got, err := io.ReadAll(obj.Body)
	if err != nil || obj.Offset != 0 || !bytes.Equal(got, testData) {
		t.Errorf("Fetch with an ignored Range: Offset %d, %d bytes, %v; want Offset 0 and the whole file", obj.Offset, len(got), err)
	}
}

func TestHTTPRefusesDowngrade(t *testing.T) {
	t.Parallel()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the plain-http server was reached: %s", r.URL)
	}))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	src := origin.NewHTTP(mustParse(t, tlsSrv.URL), origin.HTTPOptions{Transport: tlsSrv.Client().Transport})
	_, err := src.Fetch(t.Context(), origin.Request{Path: "f", MaxSize: 10})
	checkErr(t, "Fetch", err, "downgrade from https", origin.ErrRedirects)
}
