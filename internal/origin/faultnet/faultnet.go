// Package faultnet is a misbehaving HTTP server for tests: the hostile
// network Ferry's devices live on, on demand. It wraps a well-behaved
// handler (an http.FileServer, say) and, per request, can drop the
// connection mid-body, cut the body short, corrupt a byte, lie about the
// length, answer 429/500/503 with Retry-After, stall without closing,
// redirect in a loop, ignore Range, or send an endless body.
//
// Faults are scripted per path and consumed one per request; when a path's
// plan is used up it is served normally:
//
//	h, srv := faultnet.NewServer(t, http.FileServer(http.Dir(dir)))
//	h.Plan("/blobs/x", faultnet.Drop(4096), faultnet.Status(503, "1"))
//	// 1st GET /blobs/x: 4096 bytes, then a reset; 2nd: 503; 3rd on: the file.
//
// The handler counts requests and body bytes sent, per request and in
// total, so a test can assert that a resumed download re-sent no more than
// the link lost; and it counts, per path, the faults that took effect
// (Fired), so a test can assert that the fault it planned did strike. Stalled and endless responses end when the client goes
// away or when the Handler is closed; NewServer closes it before the
// server, so a test never leaks a goroutine or hangs in clean-up.
package faultnet

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Handler is the misbehaving http.Handler. Make one with New.
type Handler struct {
	next     http.Handler
	mu       sync.Mutex
	plans    map[string][]Fault
	fired    map[string]int // by URL path: faults that took effect
	log      []Entry
	requests atomic.Int64
	bytes    atomic.Int64
	closed   chan struct{}
	once     sync.Once
	inflight sync.WaitGroup
}

// Entry records one request served.
type Entry struct {
	Path  string // URL path
	Range string // the request's Range header, "" if none
	Fault string // the fault applied, "" if served normally
	Fired bool   // the fault took effect (see Handler.Fired)
	Bytes int64  // body bytes written to the connection
}

// New returns a Handler that serves next, with the faults planned.
func New(next http.Handler) *Handler {
	return &Handler{next: next, plans: map[string][]Fault{}, fired: map[string]int{}, closed: make(chan struct{})}
}

// NewServer starts a 127.0.0.1 test server on a new Handler wrapping next,
// and registers the clean-up (Handler first, then server) with t.
func NewServer(t testing.TB, next http.Handler) (*Handler, *httptest.Server) {
	t.Helper()
	h := New(next)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, srv
}

// Plan appends faults to the plan of a URL path ("/a/b" or "a/b"). Each
// request for the path consumes the next fault.
func (h *Handler) Plan(path string, faults ...Fault) {
	path = "/" + strings.TrimPrefix(path, "/")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.plans[path] = append(h.plans[path], faults...)
}

// Requests returns the number of requests served so far.
func (h *Handler) Requests() int64 { return h.requests.Load() }

// BytesSent returns the body bytes written so far, over all requests.
func (h *Handler) BytesSent() int64 { return h.bytes.Load() }

// Fired returns how many faults planned for a URL path ("/a/b" or "a/b")
// took effect: a drop, truncate or stall whose bytes were sent, a byte
// flipped, a length changed, a status, redirect or endless body served, a
// Range ignored on a request that had one. A fault at a body offset the body
// never reached, or IgnoreRange on a request without a Range, does not
// count. The count is taken when the fault strikes, before the client can
// notice it, so it is exact without Close.
func (h *Handler) Fired(path string) int {
	path = "/" + strings.TrimPrefix(path, "/")
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fired[path]
}

// Pending returns how many faults planned for a URL path are not used yet.
func (h *Handler) Pending(path string) int {
	path = "/" + strings.TrimPrefix(path, "/")
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.plans[path])
}

// Log returns the requests served so far, in the order they finished. A
// request is logged when its handler returns, which can be after the client
// has read the whole answer: call Close first for a complete log.
func (h *Handler) Log() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Entry(nil), h.log...)
}

// Close ends every stalled or endless response and waits until all
// handlers have returned. Requests after Close still consume the plan, but
// a stall or an endless body ends at once.
func (h *Handler) Close() {
	h.mu.Lock()
	h.once.Do(func() { close(h.closed) })
	h.mu.Unlock()
	h.inflight.Wait()
}

// track counts a request in flight, unless the Handler is closed (it then
// has no fault that could block).
func (h *Handler) track() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closed:
		return false
	default:
		h.inflight.Add(1)
		return true
	}
}

// ServeHTTP serves r, applying the next planned fault for its path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.track() {
		defer h.inflight.Done()
	}
	h.requests.Add(1)
	e := Entry{Path: r.URL.Path, Range: r.Header.Get("Range")}
	f := loopFault(r.URL.Path)
	if f.kind == none {
		f = h.pop(r.URL.Path)
	}
	e.Fault = f.String()
	fw := &faultWriter{w: w, h: h, f: f, done: r.Context().Done(), path: r.URL.Path}
	f.serve(fw, r, h.next)
	e.Bytes, e.Fired = fw.n, fw.hit
	h.mu.Lock()
	h.log = append(h.log, e)
	h.mu.Unlock()
}

func (h *Handler) pop(path string) Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	plan := h.plans[path]
	if len(plan) == 0 {
		return Fault{}
	}
	h.plans[path] = plan[1:]
	return plan[0]
}
