package origin

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseContentRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-9/10", 0, 10, true},
		{"bytes 5-9/10", 5, 10, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 5-10/10", 0, 0, false}, // end past the total
		{"bytes 9-5/10", 0, 0, false},
		{"bytes -1-5/10", 0, 0, false},
		{"bytes */10", 0, 0, false},
		{"bits 0-9/10", 0, 0, false},
		{"bytes 0-9", 0, 0, false},
		{"", 0, 0, false},
		{"bytes 0-99999999999999999999/1", 0, 0, false},
	} {
		start, total, err := parseContentRange(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (start != tc.start || total != tc.total)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, start, total, err, tc.start, tc.total, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Errorf("parseContentRange(%q): %v, want ErrProtocol", tc.in, err)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes 5-9/*", "bytes */10", "bytes 1-0/0", "bytes 9223372036854775807-9223372036854775807/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, total, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || (total >= 0 && start >= total) || total < -1 {
			t.Errorf("parseContentRange(%q) = %d, %d: out of range", s, start, total)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Wed, 25 Nov 2026 12:01:30 GMT", 90 * time.Second, true},
		{"Wed, 25 Nov 2026 11:00:00 GMT", 0, true}, // in the past
		{"-5", 0, false},
		{"1.5", 0, false},
		{"99999999999", 0, false}, // over 32 bits of seconds
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Wed, 25 Nov 2026 12:01:30 GMT", "Monday, 02-Jan-06 15:04:05 MST", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := parseRetryAfter(s, now); ok && d < 0 {
			t.Errorf("parseRetryAfter(%q) = %s: negative", s, d)
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		req  Request
		want error
	}{
		{Request{Path: "blobs/sha256/ab/x.zst", MaxSize: 1}, nil},
		{Request{Path: "a", MaxSize: 10, Offset: 10}, nil},
		{Request{Path: "a", MaxSize: 10, Offset: 11}, ErrInvalidRequest},
		{Request{Path: "a", MaxSize: -1}, ErrInvalidRequest},
		{Request{Path: ".", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: "a/", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: "a//b", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: "a/..", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: "C:/x", MaxSize: 1}, nil}, // a file named "C:" on the origin, harmless
		{Request{Path: "a\x00b", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: "a\nb", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: "\xff", MaxSize: 1}, ErrInvalidPath},
		{Request{Path: strings.Repeat("a/", MaxPathLen/2) + "a", MaxSize: 1}, ErrInvalidPath},
	} {
		if err := tc.req.Validate(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%+v.Validate() = %v, want %v", tc.req, err, tc.want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/./b", "/abs", `a\b`, "a/b/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if (Request{Path: p, MaxSize: 1}).Validate() != nil {
			return
		}
		// An accepted path never climbs out of the origin.
		if p == ".." || len(p) >= 3 && (p[:3] == "../" || p[len(p)-3:] == "/..") || p[0] == '/' {
			t.Errorf("Validate accepted %q", p)
		}
		for i := 0; i+4 <= len(p); i++ {
			if p[i:i+4] == "/../" {
				t.Errorf("Validate accepted %q", p)
			}
		}
	})
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("origin: get %q: %w", "x", err) }
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{wrap(ErrNotFound), false},
		{wrap(ErrNotModified), false},
		{wrap(ErrTooLarge), false},
		{wrap(ErrRedirects), false},
		{wrap(errors.New("something odd")), false},
		{wrap(&StatusError{Code: 403, Status: "403 Forbidden"}), false},
		{wrap(&StatusError{Code: 502, Status: "502 Bad Gateway"}), true},
		{wrap(&StatusError{Code: 429, Status: "429 Too Many Requests"}), true},
		{wrap(&RetryAfterError{Status: 503, Wait: time.Second}), true},
		{wrap(&StallError{Timeout: time.Second}), true},
		{wrap(io.ErrUnexpectedEOF), true},
		{wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true},
		{wrap(&net.DNSError{Err: "no such host", Name: "x"}), true},
		{wrap(fmt.Errorf("%w: %w", errWrite, syscall.EPIPE)), false},
	} {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// FuzzAnswer feeds hostile HTTP answers to the response handling: whatever
// the status, headers and body, an Object starts at the asked offset or at
// 0, and its Body never yields more than MaxSize-Offset bytes.
func FuzzAnswer(f *testing.F) {
	f.Add(200, "", "10", "", 10, int64(0), int64(100))
	f.Add(206, "bytes 5-9/10", "5", "", 5, int64(5), int64(100))
	f.Add(206, "bytes 4-9/10", "6", "", 6, int64(5), int64(100))
	f.Add(416, "bytes */10", "0", "", 0, int64(10), int64(100))
	f.Add(503, "", "", "Wed, 25 Nov 2026 12:01:30 GMT", 0, int64(0), int64(100))
	f.Add(200, "", "", "", 1000, int64(0), int64(10))
	f.Fuzz(func(t *testing.T, code int, contentRange, contentLength, retryAfter string, bodyLen int, offset, maxSize int64) {
		req := Request{Path: "f", Offset: offset, MaxSize: maxSize}
		if req.Validate() != nil || bodyLen < 0 || bodyLen > 1<<16 {
			return
		}
		resp := &http.Response{
			StatusCode:    code,
			Status:        fmt.Sprint(code),
			Header:        http.Header{},
			Body:          io.NopCloser(strings.NewReader(strings.Repeat("x", bodyLen))),
			ContentLength: -1,
		}
		resp.Header.Set("Content-Range", contentRange)
		resp.Header.Set("Retry-After", retryAfter)
		if n, err := strconv.ParseInt(contentLength, 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
		obj, err := answer(t.Context(), req, resp)
		if err != nil {
			return
		}
		defer obj.Body.Close()
		if obj.Offset != req.Offset && obj.Offset != 0 {
			t.Fatalf("answer to offset %d starts at %d", req.Offset, obj.Offset)
		}
		n, _ := io.Copy(io.Discard, obj.Body)
		if n > maxSize-obj.Offset {
			t.Fatalf("body gave %d bytes from offset %d, over MaxSize %d", n, obj.Offset, maxSize)
		}
	})
}
