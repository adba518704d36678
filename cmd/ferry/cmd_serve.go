package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

var serveCmd = &command{name: "serve", run: runServe, usage: `usage: ferry serve ORIGIN [--addr 127.0.0.1:8080]

Serve the origin folder ORIGIN over plain HTTP, as any static file server
would: GET and HEAD, Range requests, and a strong ETag from each file's size
and modification time, so a device's conditional poll of an unchanged
channel is a 304. Folders are not listed; names starting with "." (such as
temporary files of a publish in progress) are not served. Requests are
logged to stderr. SIGINT or SIGTERM stops it gracefully.

flags:
  --addr HOST:PORT   the address to listen on (default 127.0.0.1:8080)
`}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one ORIGIN folder", errUsage)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve(ctx, ln, pos[0], e.log)
}

// serve serves the origin folder on ln until ctx is done, then shuts down
// gracefully.
func serve(ctx context.Context, ln net.Listener, origin string, log *slog.Logger) error {
	root, err := os.OpenRoot(origin)
	if err != nil {
		ln.Close()
		return fmt.Errorf("origin: %w", err)
	}
	defer root.Close()
	srv := &http.Server{Handler: logRequests(log, originHandler{root: root, log: log}), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("serving origin", "origin", origin, "url", "http://"+ln.Addr().String()+"/")
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// originHandler serves the regular files of an origin folder.
type originHandler struct {
	root *os.Root
	log  *slog.Logger
}

func (h originHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "/.") {
		http.NotFound(w, r)
		return
	}
	f, err := h.root.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			h.log.Warn("open", "path", name, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("ETag", fmt.Sprintf(`"%x-%x"`, info.Size(), info.ModTime().UnixNano()))
	hdr.Set("Content-Type", contentType(name))
	hdr.Set("Cache-Control", cacheControl(name))
	http.ServeContent(w, r, name, info.ModTime(), f)
}

func contentType(name string) string {
	if strings.HasSuffix(name, ".note") {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// cacheControl lets caches keep content-addressed and versioned files, and
// makes them revalidate the channel pointers and the key bundle.
func cacheControl(name string) string {
	if strings.HasPrefix(name, "blobs/") || strings.HasPrefix(name, "deltas/") || strings.HasPrefix(name, "releases/") {
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"bytes", sw.bytes, "ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}
