package origin_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
)

// TestReadAllSurvivesTheLink: a small document read whole goes through the
// same resumable transfer as a blob: a body dropped, cut short or stalled
// half-way is resumed from where it stopped (or read again from 0 when the
// origin ignores Range), with the retry count of the default config (3).
// Each planned fault must have struck.
func TestReadAllSurvivesTheLink(t *testing.T) {
	t.Parallel()
	half := int64(len(testData) / 2)
	for _, tc := range []struct {
		name   string
		faults []faultnet.Fault
		ranges int // requests that must carry a Range
	}{
		{"drop", []faultnet.Fault{faultnet.Drop(half)}, 1},
		{"truncate", []faultnet.Fault{faultnet.Truncate(half)}, 1},
		{"stall", []faultnet.Fault{faultnet.Stall(half)}, 1},
		{"stall before the header", []faultnet.Fault{faultnet.Stall(-1)}, 0},
		{"busy", []faultnet.Fault{faultnet.Status(503, "0"), faultnet.Status(429, "0")}, 0},
		{"drop, origin ignores Range", []faultnet.Fault{faultnet.Drop(half), faultnet.IgnoreRange()}, 1},
		{"three drops", []faultnet.Fault{faultnet.Drop(1000), faultnet.Drop(1000), faultnet.Drop(1000)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, base := fileServer(t, testData)
			h.Plan("/f", tc.faults...)
			src := origin.WithRetry(origin.NewHTTP(base, origin.HTTPOptions{StallTimeout: 300 * time.Millisecond}), quickPolicy(3))
			data, etag, err := origin.ReadAll(t.Context(), src, origin.Request{Path: "f", MaxSize: 1 << 20}, quickPolicy(3))
			if err != nil || !bytes.Equal(data, testData) {
				t.Fatalf("ReadAll: %v; %d bytes, want the file's %d", err, len(data), len(testData))
			}
			if etag == "" {
				t.Error("ReadAll returned no ETag")
			}
			if got := h.Fired("f"); got != len(tc.faults) {
				t.Errorf("%d of the %d planned faults struck", got, len(tc.faults))
			}
			h.Close()
			ranged := 0
			for _, e := range h.Log() {
				if e.Range != "" {
					ranged++
				}
			}
			if ranged != tc.ranges {
				t.Errorf("%d requests with a Range, want %d: %+v", ranged, tc.ranges, h.Log())
			}
		})
	}
}

// TestReadAllConditional: with the ETag the file still has, ReadAll is one
// request answered 304 (ErrNotModified, not retried); with an old one, the
// file is read, and a drop on the way is resumed without If-None-Match.
func TestReadAllConditional(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	src := origin.NewHTTP(base, origin.HTTPOptions{})
	_, etag, err := origin.ReadAll(t.Context(), src, origin.Request{Path: "f", MaxSize: 1 << 20}, quickPolicy(3))
	if err != nil {
		t.Fatal(err)
	}
	before := h.Requests()
	_, _, err = origin.ReadAll(t.Context(), src, origin.Request{Path: "f", MaxSize: 1 << 20, ETag: etag}, quickPolicy(3))
	if !errors.Is(err, origin.ErrNotModified) || h.Requests()-before != 1 {
		t.Errorf("ReadAll with the current ETag: %v after %d requests, want ErrNotModified after 1", err, h.Requests()-before)
	}
	h.Plan("/f", faultnet.Drop(1000))
	data, _, err := origin.ReadAll(t.Context(), src, origin.Request{Path: "f", MaxSize: 1 << 20, ETag: `"old"`}, quickPolicy(3))
	if err != nil || !bytes.Equal(data, testData) || h.Fired("f") != 1 {
		t.Errorf("ReadAll with an old ETag and a drop: %v, %d bytes, %d faults struck", err, len(data), h.Fired("f"))
	}
}

// TestReadAllGivesUp: a link that never delivers fails with
// ErrRetriesExhausted wrapping the last cause, after 1 + Retries attempts;
// a file over the cap is ErrTooLarge at once.
func TestReadAllGivesUp(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	for range 4 {
		h.Plan("/f", faultnet.Truncate(0))
	}
	src := origin.NewHTTP(base, origin.HTTPOptions{})
	_, _, err := origin.ReadAll(t.Context(), src, origin.Request{Path: "f", MaxSize: 1 << 20}, quickPolicy(3))
	if !errors.Is(err, origin.ErrRetriesExhausted) || !errors.Is(err, io.ErrUnexpectedEOF) || h.Fired("f") != 4 {
		t.Errorf("ReadAll over a dead link: %v after %d faults, want ErrRetriesExhausted and io.ErrUnexpectedEOF after 4", err, h.Fired("f"))
	}
	_, _, err = origin.ReadAll(context.Background(), src, origin.Request{Path: "f", MaxSize: 100}, quickPolicy(3))
	if !errors.Is(err, origin.ErrTooLarge) {
		t.Errorf("ReadAll over the cap: %v, want ErrTooLarge", err)
	}
}

// TestRetry: the loop for callers that are not a Source retries transient
// errors, starts its count again after an attempt that made progress,
// returns a permanent error at once, and gives up with
// ErrRetriesExhausted wrapping the last error.
func TestRetry(t *testing.T) {
	t.Parallel()
	transient := &origin.StatusError{Code: 502, Status: "502 Bad Gateway"}
	for _, tc := range []struct {
		name      string
		errs      []error
		progress  []bool
		wantCalls int
		want      []error // errors.Is the result; nil: success
	}{
		{"success", nil, nil, 1, nil},
		{"transient, then success", []error{transient, transient}, nil, 3, nil},
		{"spent", []error{transient, transient, transient, transient, transient}, nil, 4, []error{origin.ErrRetriesExhausted, origin.ErrStatus}},
		{"progress resets the count", []error{transient, transient, transient, transient, transient}, []bool{false, false, true, false, false}, 6, nil},
		{"permanent", []error{origin.ErrNotFound}, nil, 1, []error{origin.ErrNotFound}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := origin.Retry(t.Context(), quickPolicy(3), "f", func(context.Context) (bool, error) {
				calls++
				if calls > len(tc.errs) {
					return false, nil
				}
				return calls-1 < len(tc.progress) && tc.progress[calls-1], tc.errs[calls-1]
			})
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
			if tc.want == nil && err != nil {
				t.Errorf("Retry: %v", err)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("Retry: %v, want errors.Is %v", err, w)
				}
			}
		})
	}
}
