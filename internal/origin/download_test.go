package origin_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/origin/origintest"
)

func quickPolicy(retries int) origin.RetryPolicy {
	return origin.RetryPolicy{Retries: retries, Initial: time.Millisecond, Max: 2 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
}

func flipped(at int) []byte {
	b := bytes.Clone(testData)
	b[at] ^= 0xff
	return b
}

// TestDownloadFaults runs a resumable download through every fault. Each
// either completes with the right bytes (or, for the faults only a hash can
// see, with the bytes the origin sent) or fails with an error that says
// what happened; and the origin re-sends no more than the link lost.
func TestDownloadFaults(t *testing.T) {
	t.Parallel()
	n := int64(len(testData))
	for _, tc := range []struct {
		name     string
		faults   []faultnet.Fault
		have     int64         // bytes held before the download
		maxSize  int64         // 0: 1 MiB
		retries  int           // 0: 3
		want     []byte        // the whole file after the download; nil: an error
		wantErr  error         // errors.Is the error
		wantMsg  string        // in the error
		maxExtra int64         // body bytes sent beyond what was missing
		stall    time.Duration // the stall timeout; 0: a minute
	}{
		{name: "clean", want: testData},
		{name: "resume", have: 50_000, want: testData},
		{name: "already complete", have: n, want: testData, maxExtra: 64}, // a 416 and its short message
		{name: "drop", faults: []faultnet.Fault{faultnet.Drop(60_000)}, want: testData, maxExtra: 60_000},
		{name: "truncate", faults: []faultnet.Fault{faultnet.Truncate(60_000)}, want: testData},
		{name: "stall", faults: []faultnet.Fault{faultnet.Stall(60_000)}, want: testData, stall: 500 * time.Millisecond},
		{name: "stall before header", faults: []faultnet.Fault{faultnet.Stall(-1)}, want: testData, stall: 500 * time.Millisecond},
		{name: "long Content-Length", faults: []faultnet.Fault{faultnet.WrongLength(10)}, want: testData, maxExtra: 64}, // ends in a 416
		{name: "drops with progress", retries: 1, want: testData, faults: []faultnet.Fault{
			faultnet.Truncate(40_000), faultnet.Truncate(40_000), faultnet.Truncate(40_000), faultnet.Truncate(40_000)}},
		{name: "busy", retries: 3, want: testData, faults: []faultnet.Fault{
			faultnet.Status(503, "0"), faultnet.Status(429, "0"), faultnet.Status(500, "")}},
		{name: "ignored range", have: 50_000, faults: []faultnet.Fault{faultnet.IgnoreRange()}, want: testData, maxExtra: 50_000},
		// The drop strikes 30 000 bytes into the resumed body; the origin
		// then ignores the Range of the next resumption: 80 000 bytes held
		// are sent again and skipped.
		{name: "drop then ignored range", have: 50_000, want: testData, maxExtra: 30_000 + 50_000,
			faults: []faultnet.Fault{faultnet.Drop(30_000), faultnet.IgnoreRange()}},
		// Only the caller's hash check can catch these two: Download hands
		// on what the origin sent.
		{name: "flipped byte", faults: []faultnet.Fault{faultnet.Flip(1000)}, want: flipped(1000)},
		{name: "short Content-Length", faults: []faultnet.Fault{faultnet.WrongLength(-10)}, want: testData[:n-10]},

		{name: "retries spent", retries: 2, stall: 200 * time.Millisecond, wantErr: origin.ErrRetriesExhausted, wantMsg: "giving up after 3 attempts",
			faults: []faultnet.Fault{faultnet.Stall(0), faultnet.Truncate(0), faultnet.Truncate(0)}},
		{name: "endless", maxSize: 100_000, faults: []faultnet.Fault{faultnet.Endless()}, wantErr: origin.ErrTooLarge, wantMsg: "more bytes than allowed", maxExtra: -1},
		{name: "too large", maxSize: n - 1, wantErr: origin.ErrTooLarge, wantMsg: fmt.Sprintf("is %d bytes, limit %d", n, n-1), maxExtra: -1},
		{name: "redirect loop", faults: []faultnet.Fault{faultnet.RedirectLoop()}, wantErr: origin.ErrRedirects, wantMsg: "stopped after 10 redirects", maxExtra: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, base := fileServer(t, testData)
			h.Plan("/f", tc.faults...)
			src := origin.NewHTTP(base, origin.HTTPOptions{StallTimeout: cmp.Or(tc.stall, time.Minute)})
			req := origin.Request{Path: "f", MaxSize: cmp.Or(tc.maxSize, 1<<20)}
			buf := bytes.NewBuffer(bytes.Clone(testData[:tc.have]))
			written, err := origin.Download(t.Context(), src, req, buf, tc.have, quickPolicy(cmp.Or(tc.retries, 3)))
			h.Close()
			if written != int64(buf.Len())-tc.have {
				t.Errorf("Download returned %d written, the writer got %d", written, int64(buf.Len())-tc.have)
			}
			if buf.Len() > int(req.MaxSize) {
				t.Errorf("wrote %d bytes, past MaxSize %d", buf.Len(), req.MaxSize)
			}
			if got := h.Fired("f"); got != len(tc.faults) {
				t.Errorf("%d of the %d planned faults struck: %+v", got, len(tc.faults), h.Log())
			}
			if tc.want == nil {
				checkErr(t, "Download", err, tc.wantMsg, tc.wantErr)
			} else if err != nil || !bytes.Equal(buf.Bytes(), tc.want) {
				t.Errorf("Download: %v; got %d bytes, want %d (equal: %v)", err, buf.Len(), len(tc.want), bytes.Equal(buf.Bytes(), tc.want))
			}
			if extra := h.BytesSent() - (n - tc.have); tc.maxExtra >= 0 && extra > tc.maxExtra {
				t.Errorf("origin sent %d bytes more than were missing, want at most %d; requests: %+v", extra, tc.maxExtra, h.Log())
			}
		})
	}
}

// TestDownloadResumesAtTheRightOffset checks the Range of the second request.
func TestDownloadResumesAtTheRightOffset(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	h.Plan("/f", faultnet.Truncate(70_000))
	var log syncBuffer
	p := quickPolicy(1)
	p.Logger = logTo(&log)
	var buf bytes.Buffer
	_, err := origin.Download(t.Context(), origin.NewHTTP(base, origin.HTTPOptions{}), origin.Request{Path: "f", MaxSize: 1 << 20}, &buf, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	var ranges []string
	for _, e := range h.Log() {
		ranges = append(ranges, e.Range)
	}
	if want := []string{"", "bytes=70000-"}; !slicesEqual(ranges, want) {
		t.Errorf("Range headers %q, want %q", ranges, want)
	}
	if !strings.Contains(log.String(), `level=WARN msg="origin: download interrupted, resuming" path=f offset=70000 attempt=1`) {
		t.Errorf("log does not record the resumption:\n%s", log.String())
	}
}

func slicesEqual(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestDownloadFileChanged: a resumed transfer that finds another version of
// the file on the origin stops, so the partial file can be discarded.
func TestDownloadFileChanged(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tag := fmt.Sprintf(`"v%d"`, calls.Add(1))
		w.Header().Set("ETag", tag)
		w.Header().Set("Content-Length", "10")
		w.Write([]byte("01234")) // and the connection is closed: 5 short
	}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	_, err := origin.Download(t.Context(), origin.NewHTTP(mustParse(t, srv.URL), origin.HTTPOptions{}),
		origin.Request{Path: "f", MaxSize: 100}, &buf, 0, quickPolicy(3))
	checkErr(t, "Download", err, `etag "v1" became "v2"`, origin.ErrChanged)
}

type failingWriter struct{ calls int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	return 0, errors.New("no space left on device")
}

func TestDownloadWriteErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	w := &failingWriter{}
	_, err := origin.Download(t.Context(), origin.NewHTTP(base, origin.HTTPOptions{}), origin.Request{Path: "f", MaxSize: 1 << 20}, w, 0, quickPolicy(3))
	checkErr(t, "Download", err, "write: no space left on device", nil)
	if h.Requests() != 1 || w.calls != 1 {
		t.Errorf("%d requests and %d writes, want 1 and 1", h.Requests(), w.calls)
	}
}

func TestDownloadCancelled(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	h.Plan("/f", faultnet.Stall(1000))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for h.BytesSent() < 1000 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	var buf bytes.Buffer
	_, err := origin.Download(ctx, origin.NewHTTP(base, origin.HTTPOptions{StallTimeout: time.Minute}),
		origin.Request{Path: "f", MaxSize: 1 << 20}, &buf, 0, quickPolicy(3))
	if !errors.Is(err, context.Canceled) || h.Requests() != 1 {
		t.Errorf("Download: %v after %d requests, want context.Canceled after 1", err, h.Requests())
	}
}

func TestDownloadFromDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	origintest.WriteFiles(t, dir, map[string][]byte{"f": testData})
	for _, have := range []int64{0, 1, int64(len(testData)) - 1, int64(len(testData))} {
		buf := bytes.NewBuffer(bytes.Clone(testData[:have]))
		if _, err := origin.Download(t.Context(), origin.NewDir(dir), origin.Request{Path: "f", MaxSize: 1 << 20}, buf, have, quickPolicy(0)); err != nil || !bytes.Equal(buf.Bytes(), testData) {
			t.Errorf("Download from %d: %v; got %d bytes, want the file", have, err, buf.Len())
		}
	}
	_, err := origin.Download(t.Context(), origin.NewDir(dir), origin.Request{Path: "missing", MaxSize: 10}, io.Discard, 0, quickPolicy(3))
	checkErr(t, "Download of a missing file", err, `"missing"`, origin.ErrNotFound)
}

// TestDownloadDoesNotMultiplyRetries: given a WithRetry source, Download
// still makes at most 1 + Retries attempts.
func TestDownloadDoesNotMultiplyRetries(t *testing.T) {
	t.Parallel()
	h, base := fileServer(t, testData)
	for range 20 {
		h.Plan("/f", faultnet.Status(503, "0"))
	}
	src := origin.WithRetry(origin.NewHTTP(base, origin.HTTPOptions{}), quickPolicy(2))
	_, err := origin.Download(t.Context(), src, origin.Request{Path: "f", MaxSize: 1 << 20}, io.Discard, 0, quickPolicy(2))
	checkErr(t, "Download", err, "giving up after 3 attempts", nil)
	if h.Requests() != 3 {
		t.Errorf("%d requests, want 3", h.Requests())
	}
}
