package mpyrun

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin/faultnet"
)

// content is what /f/<name> serves (the same bytes http_faults.py expects).
func content() []byte {
	b := make([]byte, 5000)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}

// faultOrigin serves content at /f/<any> (ETag "v1", a fixed
// Last-Modified, Range), chunked at /chunked, and redirects.
func faultOrigin() http.Handler {
	c := content()
	mod := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	mux := http.NewServeMux()
	mux.HandleFunc("/f/redir-rel", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "plain")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/f/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "x", mod, bytes.NewReader(c))
	})
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "auth:%s", r.Header.Get("Authorization"))
	})
	mux.HandleFunc("/redir-same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/auth", http.StatusFound)
	})
	mux.HandleFunc("/redir-host", func(w http.ResponseWriter, r *http.Request) {
		_, port, _ := net.SplitHostPort(r.Host)
		http.Redirect(w, r, "http://localhost:"+port+"/auth", http.StatusFound)
	})
	mux.HandleFunc("/redir-abs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/f/plain", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(c); i += 1200 {
			w.Write(c[i:min(i+1200, len(c))])
			w.(http.Flusher).Flush()
		}
	})
	return mux
}

// TestHTTPFaults runs micropython/tests/http_faults.py: ferry/http.py in
// MicroPython against a faultnet origin: header fields, 304s, Range,
// chunked, redirects (absolute, relative, a loop), body caps, a cut or
// reset body, stalls (ETIMEDOUT), statuses, Retry-After (seconds and date)
// and the backoff.
func TestHTTPFaults(t *testing.T) {
	r := Need(t)
	h, srv := faultnet.NewServer(t, faultOrigin())
	h.Plan("/f/loop", faultnet.RedirectLoop())
	h.Plan("/f/endless", faultnet.Endless())
	h.Plan("/f/truncate", faultnet.Truncate(1500))
	h.Plan("/f/drop", faultnet.Drop(2500))
	h.Plan("/f/stall", faultnet.Stall(100))
	h.Plan("/f/stallhead", faultnet.Stall(-1))
	h.Plan("/f/stall2", faultnet.Stall(10))
	h.Plan("/f/s503", faultnet.Status(503, "2"))
	h.Plan("/f/s503date", faultnet.Status(503, time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat)))
	h.Plan("/f/retry", faultnet.Status(503, "1"), faultnet.Status(429, "100"))
	h.Plan("/f/retry2", faultnet.Status(500, ""), faultnet.Status(500, ""))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	file := filepath.Join(r.Root, "micropython", "tests", "http_faults.py")
	res := r.Exec(t, 0, file, srv.URL, fmt.Sprint(closed), fmt.Sprint(stalledPort(t)))
	if res.Code != 0 || !strings.HasPrefix(res.Stdout, "http_faults ok") {
		t.Fatalf("http_faults.py: %s", res)
	}
	t.Log(strings.TrimSpace(res.Stdout))
	var loop, ranged int
	for _, e := range h.Log() {
		if strings.HasPrefix(e.Path, "/_faultnet/loop/") {
			loop++
		}
		if e.Range == "bytes=1000-" {
			ranged++
		}
	}
	if loop != 5 || ranged != 1 {
		t.Errorf("redirect-loop requests followed = %d, want 5 (MAX_REDIRECTS); Range requests = %d, want 1", loop, ranged)
	}
}
