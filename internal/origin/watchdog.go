package origin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// watchdog is an http.RoundTripper that cancels a request when no progress
// is made for timeout: neither a response header nor a body byte (the idea
// of restic's watchdog round tripper). Without it a half-open TCP connection,
// common on cellular and satellite links, would hang a device for hours.
// It starts no goroutine: a time.AfterFunc cancels the request's context.
// The clock runs while the request waits for its response header and while
// a Read of the body waits for bytes, not while the caller does other work.
type watchdog struct {
	next    http.RoundTripper
	timeout time.Duration
}

// StallTransport returns next (nil: http.DefaultTransport) under the stall
// watchdog NewHTTP uses: a request or body read that receives nothing for
// timeout (0: DefaultStallTimeout) is cancelled with a *StallError, which is
// transient. Other HTTP clients of the agent (package github) use it so that
// every fetch has the same stall cut-off.
func StallTransport(next http.RoundTripper, timeout time.Duration) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if timeout <= 0 {
		timeout = DefaultStallTimeout
	}
	return &watchdog{next: next, timeout: timeout}
}

// RoundTrip runs req under the watchdog.
func (w *watchdog) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	stalled := &atomic.Bool{}
	timer := time.AfterFunc(w.timeout, func() {
		stalled.Store(true)
		cancel()
	})
	stop := func() { timer.Stop(); cancel() }
	resp, err := w.next.RoundTrip(req.Clone(ctx))
	if err != nil {
		stop()
		if stalled.Load() {
			return nil, &StallError{Timeout: w.timeout}
		}
		return nil, err
	}
	// The clock runs only while a Read waits for the network: the time the
	// caller spends elsewhere (writing to slow flash, say) is not a stall.
	timer.Stop()
	resp.Body = &watchedBody{rc: resp.Body, w: w, timer: timer, stalled: stalled, stop: stop}
	return resp, nil
}

// watchedBody runs the watchdog's clock during each Read and turns the
// cancellation it causes into a *StallError.
type watchedBody struct {
	rc      io.ReadCloser
	w       *watchdog
	timer   *time.Timer
	stalled *atomic.Bool
	stop    func()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.stalled.Load() {
		return 0, &StallError{Timeout: b.w.timeout}
	}
	b.timer.Reset(b.w.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && b.stalled.Load() && !errors.Is(err, io.EOF) {
		return n, &StallError{Timeout: b.w.timeout}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.stop()
	return b.rc.Close()
}
