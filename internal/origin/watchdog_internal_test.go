package origin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// blockingBody blocks every Read until the request's context ends.
type blockingBody struct{ ctx context.Context }

func (b blockingBody) Read([]byte) (int, error) { <-b.ctx.Done(); return 0, b.ctx.Err() }
func (b blockingBody) Close() error             { return nil }

func respond(body func(*http.Request) io.ReadCloser) roundTripFunc {
	return func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: body(r), ContentLength: -1}, nil
	}
}

func TestWatchdog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		rt      roundTripFunc
		timeout time.Duration
		pause   time.Duration // the caller's pause between reads
		stall   bool
	}{
		{
			// The caller's own pauses, longer than the timeout, are not
			// stalls: the clock runs only inside Read.
			name:    "slow caller",
			rt:      respond(func(*http.Request) io.ReadCloser { return io.NopCloser(strings.NewReader("ab")) }),
			timeout: 100 * time.Millisecond,
			pause:   250 * time.Millisecond,
		},
		{
			name:    "silent body",
			rt:      respond(func(r *http.Request) io.ReadCloser { return blockingBody{r.Context()} }),
			timeout: 20 * time.Millisecond,
			stall:   true,
		},
		{
			name: "silent header",
			rt: func(r *http.Request) (*http.Response, error) {
				<-r.Context().Done()
				return nil, r.Context().Err()
			},
			timeout: 20 * time.Millisecond,
			stall:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &watchdog{next: tc.rt, timeout: tc.timeout}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://127.0.0.1/", nil)
			err := readSlowly(w, req, tc.pause)
			var stall *StallError
			if got := errors.As(err, &stall); got != tc.stall || (!tc.stall && err != nil) {
				t.Errorf("error %v; want a stall: %v", err, tc.stall)
			}
			if tc.stall && !strings.Contains(err.Error(), "stalled: no data for 20ms") {
				t.Errorf("error %q does not say how long it waited", err)
			}
		})
	}
}

// readSlowly reads the response a byte at a time, pausing between reads.
func readSlowly(rt http.RoundTripper, req *http.Request, pause time.Duration) error {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var one [1]byte
	for {
		if _, err := resp.Body.Read(one[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		time.Sleep(pause)
	}
}
