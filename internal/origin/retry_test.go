package origin_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/google/go-cmp/cmp"
)

// scripted is a Source that fails with errs in turn, then serves "ok".
type scripted struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *scripted) Fetch(ctx context.Context, req origin.Request) (*origin.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return nil, err
	}
	return &origin.Object{Body: io.NopCloser(strings.NewReader("ok")), Size: 2}, nil
}

// logTo returns a logger writing text lines to buf.
func logTo(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	errReset = &origin.StatusError{Code: 502, Status: "502 Bad Gateway"}
	errBusy  = &origin.RetryAfterError{Status: 503, Wait: time.Hour}
)

func TestWithRetry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		errs      []error
		retries   int
		wantCalls int
		wantErr   error  // nil: success
		wantMsg   string // in the error
	}{
		{"no error", nil, 3, 1, nil, ""},
		{"transient then ok", []error{errReset, errReset}, 3, 3, nil, ""},
		{"retry-after capped at Max", []error{errBusy}, 3, 2, nil, ""},
		{"retries spent", []error{errReset, errReset, errReset}, 2, 3, errReset, "giving up after 3 attempts"},
		{"no retries", []error{errReset}, 0, 1, errReset, "502 Bad Gateway"},
		{"not found", []error{origin.ErrNotFound}, 3, 1, origin.ErrNotFound, "not found"},
		{"not modified", []error{origin.ErrNotModified}, 3, 1, origin.ErrNotModified, "not modified"},
		{"too large", []error{origin.ErrTooLarge}, 3, 1, origin.ErrTooLarge, "size limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := &scripted{errs: tc.errs}
			var log syncBuffer
			p := origin.RetryPolicy{Retries: tc.retries, Initial: time.Millisecond, Max: 2 * time.Millisecond, Logger: logTo(&log)}
			obj, err := origin.WithRetry(src, p).Fetch(t.Context(), origin.Request{Path: "f", MaxSize: 10})
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg)) {
				t.Fatalf("Fetch: %v, want %v saying %q", err, tc.wantErr, tc.wantMsg)
			}
			if obj != nil {
				obj.Body.Close()
			}
			if src.calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", src.calls, tc.wantCalls)
			}
			if got, want := strings.Count(log.String(), "level=WARN msg=\"origin: retrying\" path=f attempt="), tc.wantCalls-1; got != want {
				t.Errorf("%d retries logged, want %d:\n%s", got, want, log.String())
			}
		})
	}
}

func TestWithRetryStopsOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	src := &scripted{errs: []error{errReset, errReset}}
	var log syncBuffer
	p := origin.RetryPolicy{Retries: 5, Initial: time.Hour, Max: time.Hour, Logger: logTo(&log)}
	done := make(chan error)
	go func() {
		_, err := origin.WithRetry(src, p).Fetch(ctx, origin.Request{Path: "f", MaxSize: 10})
		done <- err
	}()
	for !strings.Contains(log.String(), "retrying") {
		time.Sleep(time.Millisecond)
	}
	cancel() // during the hour-long wait
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch: %v, want context.Canceled", err)
	}
	if src.calls != 1 {
		t.Errorf("%d calls, want 1", src.calls)
	}
}

func TestWithRetryOverHTTP(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	h.Plan("/f", faultnet.Status(503, "0"), faultnet.Status(500, ""), faultnet.Stall(-1))
	src := origin.WithRetry(origin.NewHTTP(base, origin.HTTPOptions{StallTimeout: 500 * time.Millisecond}),
		origin.RetryPolicy{Retries: 3, Initial: time.Millisecond, Max: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	obj, err := src.Fetch(t.Context(), origin.Request{Path: "f", MaxSize: 1 << 20})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer obj.Body.Close()
	got, err := io.ReadAll(obj.Body)
	if err != nil || !bytes.Equal(got, testData) {
		t.Errorf("read %d bytes, %v; want the file", len(got), err)
	}
	if h.Requests() != 4 || h.Fired("f") != 3 {
		t.Errorf("%d requests, %d faults struck; want 4 and 3", h.Requests(), h.Fired("f"))
	}
}

func TestPolicyFromConfig(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(`
origin = "http://example.invalid/"
target = "app"
state = "state"
root_keys = ["root.pub"]
http_retries = 5
backoff_sec = 3
max_backoff_sec = 40
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := origin.RetryPolicy{Retries: 5, Initial: 3 * time.Second, Max: 40 * time.Second}
	if diff := cmp.Diff(want, origin.PolicyFromConfig(c)); diff != "" {
		t.Errorf("PolicyFromConfig (-want +got):\n%s", diff)
	}
	opts := origin.HTTPOptionsFromConfig(c, "1.0")
	if opts.Version != "1.0" || opts.StallTimeout != 30*time.Second {
		t.Errorf("HTTPOptionsFromConfig = %+v, want version 1.0 and the default stall_sec of 30s", opts)
	}
}
