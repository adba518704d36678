// Package fakegh is a fake GitHub for tests: an httptest server on 127.0.0.1
// that serves the REST endpoints Ferry uses with GitHub's response shapes,
// fed by a real git repository that the test makes with `git`, so that tree,
// commit and blob SHAs are git's own.
//
// It serves:
//
//	GET    /repos/{o}/{r}/releases/latest, /releases/tags/{tag}
//	GET    /repos/{o}/{r}/releases                (drafts included)
//	POST   /repos/{o}/{r}/releases                (a draft with "draft": true)
//	PATCH  /repos/{o}/{r}/releases/{id}           ({"draft": false} publishes)
//	GET    /repos/{o}/{r}/releases/assets/{id}   JSON, or with Accept: application/octet-stream
//	                                              a 302 to a second server (the "storage")
//	DELETE /repos/{o}/{r}/releases/assets/{id}
//	POST   /uploads/repos/{o}/{r}/releases/{id}/assets?name=   (the release's upload_url)
//	GET    /repos/{o}/{r}/git/ref/{ref}, /git/refs/{ref}, /git/commits/{sha},
//	       /git/tags/{sha}, /git/trees/{sha}[?recursive=1], /contents/{path}?ref=
//	GET    /raw/{o}/{r}/{commit}/{path}               (RawURL)
//	GET    /github.com/{o}/{r}/releases/download/{tag}/{name}  (browser_download_url: a 302 to storage,
//	                                                  outside the rate limit, as on github.com)
//
// JSON answers over 1 KiB are gzipped when the client accepts it, as
// api.github.com does. Every API answer has an ETag and honours If-None-Match with a 304
// that does not count against the rate limit, as GitHub does. Rate-limit
// headers are sent on every API answer; when Remaining reaches 0 before the
// reset time the API answers 403 (or 429 with Retry-After, see SetRate).
// TruncateAt makes recursive tree listings longer than it come back cut
// short with "truncated": true. Stats counts requests and the bytes on the
// wire, in both directions, over both servers.
package fakegh

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin/faultnet"
)

// Stats counts what clients asked of the fake.
type Stats struct {
	Requests    int            // every HTTP request, API, raw and storage
	NotModified int            // 304 answers
	Charged     int            // requests that used the API rate limit
	BytesIn     int64          // bytes read from clients' connections
	BytesOut    int64          // bytes written to clients' connections
	ByRoute     map[string]int // requests by route pattern, e.g. "GET /repos/{owner}/{repo}/git/trees/{sha}"
}

// Server is a running fake GitHub.
type Server struct {
	URL    string // API base URL: the api_url of the config
	RawURL string // the raw_url of the config
	Owner  string
	Repo   string
	Dir    string // the git repository served
	// Net and StorageNet are the networks in front of the API host (API,
	// raw files, download links) and of the storage host (asset bytes):
	// plan faults on their URL paths (see package faultnet, AssetPath).
	Net, StorageNet *faultnet.Handler
	api             *httptest.Server
	storage         *httptest.Server
	in, out         atomic.Int64

	mu         sync.Mutex
	stats      Stats
	limit      int
	remaining  int
	reset      time.Time
	use429     bool
	truncateAt int
	releases   []*release
	nextID     int64
}

// New starts a fake GitHub for owner/repo served from the git repository in
// dir, with a rate limit of 5,000 requests. It stops when the test ends.
func New(t testing.TB, owner, repo, dir string) *Server {
	t.Helper()
	s := &Server{Owner: owner, Repo: repo, Dir: dir, limit: 5000, remaining: 5000,
		reset: time.Now().Add(time.Hour), nextID: 1000}
	s.stats.ByRoute = map[string]int{}
	s.StorageNet = faultnet.New(s.count(http.HandlerFunc(s.serveStorage)))
	s.storage = s.start(s.StorageNet)
	mux := http.NewServeMux()
	s.routes(mux)
	s.Net = faultnet.New(s.count(mux))
	s.api = s.start(s.Net)
	s.URL = s.api.URL
	s.RawURL = s.api.URL + "/raw"
	t.Cleanup(func() { s.Net.Close(); s.StorageNet.Close(); s.api.Close(); s.storage.Close() })
	return s
}

func (s *Server) start(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = &countingListener{Listener: srv.Listener, in: &s.in, out: &s.out}
	srv.Start()
	return srv
}

func (s *Server) routes(mux *http.ServeMux) {
	p := "/repos/{owner}/{repo}/"
	mux.HandleFunc("GET "+p+"releases/latest", s.api2(s.latestRelease))
	mux.HandleFunc("GET "+p+"releases/tags/{tag}", s.api2(s.releaseByTag))
	mux.HandleFunc("POST "+p+"releases", s.api2(s.createRelease))
	mux.HandleFunc("GET "+p+"releases", s.api2(s.listReleases))
	mux.HandleFunc("PATCH "+p+"releases/{id}", s.api2(s.updateRelease))
	mux.HandleFunc("GET "+p+"releases/assets/{id}", s.api2(s.getAsset))
	mux.HandleFunc("DELETE "+p+"releases/assets/{id}", s.api2(s.deleteAsset))
	mux.HandleFunc("POST /uploads"+p+"releases/{id}/assets", s.api2(s.uploadAsset))
	mux.HandleFunc("GET "+p+"git/ref/{ref...}", s.api2(s.getRef))
	mux.HandleFunc("GET "+p+"git/refs/{ref...}", s.api2(s.getRef))
	mux.HandleFunc("GET "+p+"git/commits/{sha}", s.api2(s.getCommit))
	mux.HandleFunc("GET "+p+"git/tags/{sha}", s.api2(s.getTag))
	mux.HandleFunc("GET "+p+"git/trees/{sha}", s.api2(s.getTree))
	mux.HandleFunc("GET "+p+"contents/{path...}", s.api2(s.getContents))
	mux.HandleFunc("GET /raw/{owner}/{repo}/{sha}/{path...}", s.serveRaw)
	mux.HandleFunc("GET /github.com/{owner}/{repo}/releases/download/{tag}/{name}", s.browserDownload)
}

// SetRate sets the rate limit state: limit, requests remaining, and the
// reset time. With use429 an exhausted limit is a 429 with Retry-After
// (GitHub's secondary limit), else a 403.
func (s *Server) SetRate(limit, remaining int, reset time.Time, use429 bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.remaining, s.reset, s.use429 = limit, remaining, reset, use429
}

// SetTruncateAt makes recursive tree listings of more than n entries come
// back truncated (as GitHub does past about 100,000); 0 turns it off.
func (s *Server) SetTruncateAt(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncateAt = n
}

// Stats returns the counts since the start or the last ResetStats.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByRoute = make(map[string]int, len(s.stats.ByRoute))
	for k, v := range s.stats.ByRoute {
		st.ByRoute[k] = v
	}
	st.BytesIn, st.BytesOut = s.in.Load(), s.out.Load()
	return st
}

// ResetStats zeroes the counts.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByRoute: map[string]int{}}
	s.in.Store(0)
	s.out.Store(0)
}

// count counts each request when its answer starts, before a byte of it is
// sent: once the client has the answer it may ask for Stats.
func (s *Server) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, count: func(status int) {
			s.mu.Lock()
			defer s.mu.Unlock()
			route := r.Pattern
			if route == "" {
				route = r.Method + " storage"
			}
			s.stats.Requests++
			s.stats.ByRoute[route]++
			if status == http.StatusNotModified {
				s.stats.NotModified++
			}
		}}
		h.ServeHTTP(rec, r)
		rec.WriteHeader(http.StatusOK) // counts an answer the handler left empty
	})
}

type statusRecorder struct {
	http.ResponseWriter
	count   func(status int)
	counted bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.counted {
		return
	}
	r.counted = true
	r.count(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.ResponseWriter.Write(p)
}

// answer is what an API handler returns: a JSON value, or a redirect.
type answer struct {
	status   int
	body     any    // marshalled to JSON; nil for no body
	raw      []byte // sent as it is, when not nil
	location string // a redirect
}

func errAnswer(status int, msg string) answer {
	return answer{status: status, body: map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"}}
}

// api2 wraps an API handler with the rate limit, ETags and 304s.
func (s *Server) api2(fn func(*http.Request) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("owner") != s.Owner || r.PathValue("repo") != s.Repo {
			s.write(w, r, errAnswer(http.StatusNotFound, "Not Found"), false)
			return
		}
		if s.limited(w) {
			return
		}
		s.write(w, r, fn(r), true)
	}
}

// limited answers a rate-limit error when the limit is exhausted.
func (s *Server) limited(w http.ResponseWriter) bool {
	status := s.rateStatus(w.Header())
	if status == 0 {
		return false
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":"API rate limit exceeded for 127.0.0.1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
	return true
}

// rateStatus sets the rate-limit headers and returns the status of a
// rate-limit answer, or 0 when requests remain.
func (s *Server) rateStatus(h http.Header) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Now().After(s.reset) {
		s.remaining, s.reset = s.limit, time.Now().Add(time.Hour)
	}
	s.rateHeaders(h)
	switch {
	case s.remaining > 0:
		return 0
	case s.use429:
		h.Set("Retry-After", strconv.Itoa(int(time.Until(s.reset).Seconds())+1))
		return http.StatusTooManyRequests
	}
	return http.StatusForbidden
}

func (s *Server) rateHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.limit-s.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// write sends an answer; with counted, a non-304 answer uses one request of
// the rate limit.
func (s *Server) write(w http.ResponseWriter, r *http.Request, a answer, counted bool) {
	if a.location != "" {
		s.spend(w, counted)
		w.Header().Set("Location", a.location)
		w.WriteHeader(a.status)
		return
	}
	body, ctype := a.raw, "application/vnd.github.raw"
	if a.body != nil {
		body, _ = json.Marshal(a.body)
		ctype = "application/json; charset=utf-8"
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	if a.status == http.StatusOK && r.Method == http.MethodGet {
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.spend(w, counted)
	if a.body == nil && a.raw == nil {
		w.WriteHeader(a.status)
		return
	}
	w.Header().Set("Content-Type", ctype)
	if a.body != nil && len(body) > 1024 && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		body = gzipped(body) // as api.github.com does
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Vary", "Accept-Encoding")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(a.status)
	w.Write(body)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func (s *Server) spend(w http.ResponseWriter, counted bool) {
	if !counted {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remaining--
	s.stats.Charged++
	s.rateHeaders(w.Header())
}

// countingListener counts the bytes of every connection it accepts.
type countingListener struct {
	net.Listener
	in, out *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, in: l.in, out: l.out}, nil
}

type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

// Write counts before it writes: once the bytes are on the wire the client
// may ask for Stats before this goroutine runs again.
func (c *countingConn) Write(p []byte) (int, error) {
	c.out.Add(int64(len(p)))
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n - len(p)))
	return n, err
}
