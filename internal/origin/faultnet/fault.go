package faultnet

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

type kind int

const (
	none kind = iota
	drop
	truncate
	flip
	wrongLength
	status
	stall
	redirectLoop
	endless
	ignoreRange
)

// Fault is one misbehaviour, applied to one response. Make one with the
// functions below; the zero Fault serves normally. A fault placed at a body
// offset the body does not reach is used up without effect.
type Fault struct {
	kind       kind
	n          int64  // a body offset, or a length delta
	code       int    // status
	retryAfter string // status
}

// Drop sends the first after bytes of the body, then resets the connection
// (TCP RST): the client sees "connection reset by peer".
func Drop(after int64) Fault { return Fault{kind: drop, n: after} }

// Truncate sends the first after bytes of the body, then closes the
// connection cleanly: a body shorter than its Content-Length.
func Truncate(after int64) Fault { return Fault{kind: truncate, n: after} }

// Flip inverts the body byte at offset at: a corruption only a hash finds.
func Flip(at int64) Fault { return Fault{kind: flip, n: at} }

// WrongLength declares a Content-Length delta bytes off the truth. Longer
// than the body, the client waits for bytes that never come until the
// server closes; shorter, the client gets a body cut at the declared length.
func WrongLength(delta int64) Fault { return Fault{kind: wrongLength, n: delta} }

// Status answers code with an empty body, and a Retry-After header when
// retryAfter is not "".
func Status(code int, retryAfter string) Fault {
	return Fault{kind: status, code: code, retryAfter: retryAfter}
}

// Stall sends the first after bytes of the body, then keeps the connection
// open and silent until the client gives up or the Handler is closed. A
// negative after stalls before the response header.
func Stall(after int64) Fault { return Fault{kind: stall, n: after} }

// RedirectLoop answers with a redirect into an endless chain of redirects.
func RedirectLoop() Fault { return Fault{kind: redirectLoop} }

// Endless answers 200 with a body that never ends (no Content-Length).
func Endless() Fault { return Fault{kind: endless} }

// IgnoreRange serves the whole file with 200 even when a Range is asked.
func IgnoreRange() Fault { return Fault{kind: ignoreRange} }

// String names the fault, as in the Handler's log.
func (f Fault) String() string {
	switch f.kind {
	case drop, truncate, flip, stall, wrongLength:
		return fmt.Sprintf("%s(%d)", [...]string{drop: "drop", truncate: "truncate", flip: "flip", stall: "stall", wrongLength: "wrong-length"}[f.kind], f.n)
	case status:
		return fmt.Sprintf("status(%d, %q)", f.code, f.retryAfter)
	case redirectLoop:
		return "redirect-loop"
	case endless:
		return "endless"
	case ignoreRange:
		return "ignore-range"
	}
	return ""
}

const loopPrefix = "/_faultnet/loop/"

// loopFault keeps a request inside the redirect loop once it is there.
func loopFault(path string) Fault {
	if strings.HasPrefix(path, loopPrefix) {
		return RedirectLoop()
	}
	return Fault{}
}

// serve answers r with the fault applied.
func (f Fault) serve(w *faultWriter, r *http.Request, next http.Handler) {
	switch f.kind {
	case status:
		w.fire()
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.WriteHeader(f.code)
	case redirectLoop:
		w.fire()
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, loopPrefix))
		http.Redirect(w, r, loopPrefix+strconv.Itoa(n+1), http.StatusFound)
	case endless:
		w.fire()
		w.endless()
	case stall:
		if f.n < 0 {
			w.fire()
			w.wait()
			return
		}
		next.ServeHTTP(w, r)
	case ignoreRange:
		if r.Header.Get("Range") != "" {
			w.fire() // only a request that asked for a range is misserved
		}
		r.Header.Del("Range")
		next.ServeHTTP(w, r)
	default:
		next.ServeHTTP(w, r)
	}
}

// errFault is what the wrapped handler sees once a fault has cut it off.
var errFault = errors.New("faultnet: connection cut by a planned fault")

// faultWriter is the http.ResponseWriter the wrapped handler writes to.
type faultWriter struct {
	w    http.ResponseWriter
	h    *Handler
	f    Fault
	done <-chan struct{} // the request's context
	n    int64           // body bytes written
	cut  bool
	path string // the request's URL path
	hit  bool   // the fault took effect

	declared int64 // wrongLength: the Content-Length sent
}

func (fw *faultWriter) Header() http.Header { return fw.w.Header() }

func (fw *faultWriter) WriteHeader(code int) {
	if fw.f.kind == wrongLength {
		if n, err := strconv.ParseInt(fw.w.Header().Get("Content-Length"), 10, 64); err == nil {
			fw.declared = max(n+fw.f.n, 0)
			fw.w.Header().Set("Content-Length", strconv.FormatInt(fw.declared, 10))
			fw.fire()
		}
	}
	fw.w.WriteHeader(code)
}

func (fw *faultWriter) Write(p []byte) (int, error) {
	if fw.cut {
		return 0, errFault
	}
	switch fw.f.kind {
	case drop, truncate, stall:
		if fw.n+int64(len(p)) > fw.f.n {
			k, err := fw.write(p[:fw.f.n-fw.n])
			if err == nil {
				fw.act()
			}
			return k, errFault
		}
	case wrongLength:
		if fw.f.n < 0 && fw.n+int64(len(p)) > fw.declared {
			// Send exactly the declared bytes, as a server that lies
			// consistently would; the rest of the file is never sent.
			k, err := fw.write(p[:max(fw.declared-fw.n, 0)])
			fw.cut = true
			if err != nil {
				return k, err
			}
			return k, errFault
		}
	case flip:
		if at := fw.f.n - fw.n; at >= 0 && at < int64(len(p)) {
			p = append([]byte(nil), p...)
			p[at] ^= 0xff
			fw.fire()
		}
	}
	return fw.write(p)
}

func (fw *faultWriter) write(p []byte) (int, error) {
	k, err := fw.w.Write(p)
	fw.n += int64(k)
	fw.h.bytes.Add(int64(k))
	return k, err
}

// fire records that the fault took effect, before the client can see it.
func (fw *faultWriter) fire() {
	if fw.hit || fw.f.kind == none {
		return
	}
	fw.hit = true
	fw.h.mu.Lock()
	fw.h.fired[fw.path]++
	fw.h.mu.Unlock()
}

// act carries out a drop, truncate or stall once its bytes are sent.
func (fw *faultWriter) act() {
	fw.cut = true
	fw.fire()
	rc := http.NewResponseController(fw.w)
	if err := rc.Flush(); err != nil {
		return
	}
	if fw.f.kind == stall {
		fw.wait()
		return
	}
	conn, buf, err := rc.Hijack()
	if err != nil {
		return
	}
	buf.Flush()
	if tcp, ok := conn.(*net.TCPConn); ok && fw.f.kind == drop {
		tcp.SetLinger(0) // close with a reset, not a goodbye
	}
	conn.Close()
}

// wait blocks until the client or the Handler quits.
func (fw *faultWriter) wait() {
	select {
	case <-fw.done:
	case <-fw.h.closed:
	}
}

// endless writes an unending body until the client or the Handler quits.
func (fw *faultWriter) endless() {
	chunk := []byte(strings.Repeat("endless ", 4096))
	fw.w.Header().Set("Content-Type", "application/octet-stream")
	fw.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(fw.w)
	for {
		select {
		case <-fw.done:
			return
		case <-fw.h.closed:
			return
		default:
		}
		if _, err := fw.write(chunk); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// Flush sends what the wrapped handler wrote so far.
func (fw *faultWriter) Flush() {
	if !fw.cut {
		http.NewResponseController(fw.w).Flush()
	}
}
