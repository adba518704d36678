// Command wirecount is a static file server that counts every byte it
// sends and receives on its connections, headers included, for
// bench/wire-total. It serves a folder the way a plain static server does
// (http.ServeContent: Last-Modified, Content-Length, Content-Type, Range,
// If-Modified-Since), with an ETag from each file's size and modification
// time unless -etag=false (a server with Last-Modified and no ETag).
//
//	wirecount -dir ORIGIN -addr 127.0.0.1:8080 -ctl 127.0.0.1:8081 [-etag=false]
//
// The control address answers GET /stats ("requests N sent S received R
// bodies B", then one line per request: status, body bytes, path) and
// GET /reset (zero the counters). Control requests are not counted.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

type counters struct {
	sent, received, bodies, requests atomic.Int64
	mu                               sync.Mutex
	lines                            []string
}

type countingConn struct {
	net.Conn
	c *counters
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.c.received.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.c.sent.Add(int64(n))
	return n, err
}

type countingListener struct {
	net.Listener
	c *counters
}

func (l countingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{conn, l.c}, nil
}

type bodyWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *bodyWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *bodyWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func serveFile(dir string, etag bool, w http.ResponseWriter, r *http.Request) {
	name := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/")))
	f, err := os.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}
	if etag {
		w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

func main() {
	dir := flag.String("dir", ".", "folder to serve")
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	ctl := flag.String("ctl", "127.0.0.1:8081", "control address (stats, reset)")
	etag := flag.Bool("etag", true, "send an ETag")
	flag.Parse()
	c := &counters{}
	files := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := &bodyWriter{ResponseWriter: w, status: http.StatusOK}
		serveFile(*dir, *etag, bw, r)
		c.requests.Add(1)
		c.bodies.Add(bw.n)
		c.mu.Lock()
		c.lines = append(c.lines, fmt.Sprintf("%d %d %s", bw.status, bw.n, r.URL.Path))
		c.mu.Unlock()
	})
	control := http.NewServeMux()
	control.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		fmt.Fprintf(w, "requests %d sent %d received %d bodies %d\n", c.requests.Load(), c.sent.Load(), c.received.Load(), c.bodies.Load())
		for _, l := range c.lines {
			fmt.Fprintln(w, l)
		}
	})
	control.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.requests.Store(0)
		c.sent.Store(0)
		c.received.Store(0)
		c.bodies.Store(0)
		c.lines = nil
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.ListenAndServe(*ctl, control)) }()
	log.Printf("serving %s on %s (etag %v), control on %s", *dir, *addr, *etag, *ctl)
	log.Fatal(http.Serve(countingListener{ln, c}, files))
}
