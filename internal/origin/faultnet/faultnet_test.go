package faultnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/google/go-cmp/cmp"
)

var content = bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB

func serveContent() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Unix(0, 0), bytes.NewReader(content))
	})
}

// get fetches path and returns the status, the body bytes read and the
// error that ended the body (nil for a clean end).
func get(t *testing.T, ctx context.Context, url string, hdr ...string) (int, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

func TestFaults(t *testing.T) {
	t.Parallel()
	flipped := bytes.Clone(content)
	flipped[100] ^= 0xff
	for _, tc := range []struct {
		fault     faultnet.Fault
		status    int
		body      []byte
		wantErr   bool  // the body ends in an error
		wantBytes int64 // body bytes the server counted
	}{
		{faultnet.Fault{}, 200, content, false, int64(len(content))},
		{faultnet.Drop(1000), 200, content[:1000], true, 1000},
		{faultnet.Truncate(1000), 200, content[:1000], true, 1000},
		{faultnet.Flip(100), 200, flipped, false, int64(len(content))},
		{faultnet.WrongLength(10), 200, content, true, int64(len(content))},
		{faultnet.WrongLength(-10), 200, content[:len(content)-10], false, int64(len(content)) - 10},
		{faultnet.Status(503, "7"), 503, nil, false, 0},
		{faultnet.RedirectLoop(), 302, nil, false, -1},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			h, srv := faultnet.NewServer(t, serveContent())
			h.Plan("/f", tc.fault)
			status, body, err := get(t, t.Context(), srv.URL+"/f")
			if status != tc.status || (err != nil) != tc.wantErr {
				t.Fatalf("GET: status %d, error %v; want %d, error %v", status, err, tc.status, tc.wantErr)
			}
			if tc.status == 200 && !bytes.Equal(body, tc.body) {
				t.Errorf("GET: %d bytes, want %d (equal: %v)", len(body), len(tc.body), bytes.Equal(body, tc.body))
			}
			h.Close()
			if got := h.BytesSent(); tc.wantBytes >= 0 && got != tc.wantBytes {
				t.Errorf("BytesSent() = %d, want %d", got, tc.wantBytes)
			}
			wantFired := 1
			if tc.fault == (faultnet.Fault{}) {
				wantFired = 0
			}
			if got := h.Fired("f"); got != wantFired || h.Pending("/f") != 0 {
				t.Errorf("Fired = %d, Pending = %d; want %d and 0", got, h.Pending("/f"), wantFired)
			}
			// The plan is used up: the next request is served normally.
			if status, body, err := get(t, t.Context(), srv.URL+"/f"); status != 200 || err != nil || !bytes.Equal(body, content) {
				t.Errorf("second GET: status %d, %d bytes, %v; want the file", status, len(body), err)
			}
		})
	}
}

func TestStatusRetryAfter(t *testing.T) {
	t.Parallel()
	h, srv := faultnet.NewServer(t, serveContent())
	h.Plan("f", faultnet.Status(429, "3"))
	resp, err := http.Get(srv.URL + "/f")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("got %d with Retry-After %q, want 429 with \"3\"", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestIgnoreRangeAndLog(t *testing.T) {
	t.Parallel()
	h, srv := faultnet.NewServer(t, serveContent())
	h.Plan("/f", faultnet.IgnoreRange())
	for range 2 {
		if _, _, err := get(t, t.Context(), srv.URL+"/f", "Range", "bytes=100-"); err != nil {
			t.Fatal(err)
		}
	}
	h.Close() // wait for the handlers to log their requests
	want := []faultnet.Entry{
		{Path: "/f", Range: "bytes=100-", Fault: "ignore-range", Fired: true, Bytes: int64(len(content))},
		{Path: "/f", Range: "bytes=100-", Bytes: int64(len(content)) - 100},
	}
	if diff := cmp.Diff(want, h.Log()); diff != "" {
		t.Errorf("Log() (-want +got):\n%s", diff)
	}
	if h.Requests() != 2 {
		t.Errorf("Requests() = %d, want 2", h.Requests())
	}
}

// TestStallAndEndlessEnd checks that a stalled or endless response ends
// when the client gives up, and that Close does not hang.
func TestStallAndEndlessEnd(t *testing.T) {
	t.Parallel()
	for _, f := range []faultnet.Fault{faultnet.Stall(500), faultnet.Stall(-1), faultnet.Endless()} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			h, srv := faultnet.NewServer(t, serveContent())
			h.Plan("/f", f)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			_, _, err := get(t, ctx, srv.URL+"/f")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("GET: %v, want the client's deadline", err)
			}
			closed := make(chan struct{})
			go func() { h.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not return: a handler is stuck")
			}
		})
	}
}

func TestCloseReleasesStall(t *testing.T) {
	t.Parallel()
	h, srv := faultnet.NewServer(t, serveContent())
	h.Plan("/f", faultnet.Stall(10))
	done := make(chan error, 1)
	go func() {
		_, _, err := get(t, context.Background(), srv.URL+"/f")
		done <- err
	}()
	for h.BytesSent() < 10 {
		time.Sleep(time.Millisecond)
	}
	h.Close()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("GET of a stalled body after Close: %v, want an unexpected EOF", err)
	}
}

// TestFiredOnlyWhenTheFaultStrikes: a fault placed past the end of the body,
// or IgnoreRange on a request without a Range, is used up without effect and
// not counted; the counts are per path.
func TestFiredOnlyWhenTheFaultStrikes(t *testing.T) {
	t.Parallel()
	h, srv := faultnet.NewServer(t, serveContent())
	n := int64(len(content))
	h.Plan("/f", faultnet.Drop(n+1), faultnet.Flip(n), faultnet.IgnoreRange(), faultnet.Truncate(n-1))
	h.Plan("/g", faultnet.Status(500, ""))
	for range 3 {
		if _, body, err := get(t, t.Context(), srv.URL+"/f"); err != nil || !bytes.Equal(body, content) {
			t.Fatalf("GET with a fault that cannot strike: %v, %d bytes", err, len(body))
		}
	}
	if got := h.Fired("/f"); got != 0 {
		t.Errorf("Fired = %d after three faults that could not strike, want 0", got)
	}
	if _, _, err := get(t, t.Context(), srv.URL+"/f"); err == nil {
		t.Error("GET with Truncate(n-1): no error")
	}
	if got, other := h.Fired("f"), h.Fired("/g"); got != 1 || other != 0 {
		t.Errorf("Fired(/f) = %d, Fired(/g) = %d; want 1 and 0", got, other)
	}
}
