package sim

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// errLinkFault is a simulated link failure.
var errLinkFault = errors.New("simulated link fault")

// link is one device's view of the network: it counts what the device asks
// of the origin and injects faults.
type link struct {
	next                  http.RoundTripper
	dev                   *device
	rate                  float64
	requests, notModified atomic.Int64
	body, wire, faults    atomic.Int64
}

// RoundTrip implements http.RoundTripper. Only the device's own goroutine
// uses its rng, and its cycles never overlap.
func (l *link) RoundTrip(req *http.Request) (*http.Response, error) {
	l.requests.Add(1)
	l.wire.Add(requestBytes(req))
	fault := l.rate > 0 && l.dev.rng.Float64() < l.rate
	if fault && l.dev.rng.IntN(2) == 0 {
		l.faults.Add(1)
		return nil, errLinkFault
	}
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	l.wire.Add(responseHeaderBytes(resp))
	if resp.StatusCode == http.StatusNotModified {
		l.notModified.Add(1)
	}
	cut := int64(-1)
	if fault {
		l.faults.Add(1)
		cut = l.dev.rng.Int64N(max(resp.ContentLength, 1))
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, l: l, left: cut}
	return resp, nil
}

// countingBody counts body bytes; with left >= 0 the body breaks after
// left bytes.
type countingBody struct {
	io.ReadCloser
	l    *link
	left int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	b.l.body.Add(int64(n))
	b.l.wire.Add(int64(n))
	return n, err
}

// requestBytes estimates the request line and headers on the wire.
func requestBytes(req *http.Request) int64 {
	n := len(req.Method) + len(req.URL.RequestURI()) + len(" HTTP/1.1\r\n") + len("Host: \r\n") + len(req.URL.Host) + 2
	for k, vs := range req.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// responseHeaderBytes estimates the status line and headers on the wire.
func responseHeaderBytes(resp *http.Response) int64 {
	n := len("HTTP/1.1 ") + len(resp.Status) + 2 + 2
	for k, vs := range resp.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}
