package update

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// serveSim serves the simulator's files as a static HTTP server would:
// strong ETags, Range, 304 for a matching If-None-Match.
func serveSim(sim *originsim.Sim) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := sim.Get(strings.TrimPrefix(r.URL.Path, "/"))
		if data == nil {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
}

// overFaultnet makes d fetch from sim through a real HTTP server behind a
// fault-injecting network, with fast retries, and returns the network.
func (d *device) overFaultnet(t *testing.T, sim *originsim.Sim) *faultnet.Handler {
	t.Helper()
	net, srv := faultnet.NewServer(t, serveSim(sim))
	u, _ := url.Parse(srv.URL + "/")
	retry := origin.RetryPolicy{Retries: 2, Initial: time.Millisecond, Max: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	d.opt.Source = origin.WithRetry(origin.NewHTTP(u, origin.HTTPOptions{StallTimeout: 300 * time.Millisecond}), retry)
	d.opt.Retry = retry
	return net
}

// TestHostileNetwork puts a misbehaving network between a device and a real
// HTTP origin. For each fault: it struck (the fault injector counts it); no
// bad byte is installed; if the fault outlasts the retries, the error is the
// sentinel (errors.Is) that says what happened and the target keeps 1.0;
// once the network behaves the update completes, and the blob is
// re-downloaded no more than what was lost (it resumes with Range).
func TestHostileNetwork(t *testing.T) {
	t.Parallel()
	big := make([]byte, 256<<10)
	rand.Read(big)
	v2big := originsim.Tree{"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "big.bin": string(big), "run.sh": "#!/bin/sh\n"}
	const slack = 64 << 10 // bytes in flight that a dropped connection may lose
	// The server counts what it wrote into the socket; for a body the client
	// refuses, that includes what the kernels buffered before it hung up.
	const kernelBuffered = 8 << 20
	for _, tc := range []struct {
		name    string
		faults  []faultnet.Fault
		wantErr error // nil if the first run must complete despite the fault
		status  int   // the *origin.StatusError the failure wraps, 0 if none
		extra   int64 // bytes over the blob's size the whole transfer may cost
	}{
		{"connection dropped mid-body", []faultnet.Fault{faultnet.Drop(100 << 10)}, nil, 0, slack},
		{"body truncated", []faultnet.Fault{faultnet.Truncate(100 << 10)}, nil, 0, slack},
		{"byte flipped", []faultnet.Fault{faultnet.Flip(5000)}, nil, 0, 256<<10 + slack},
		{"Content-Length too short", []faultnet.Fault{faultnet.WrongLength(-1000)}, nil, 0, slack},
		{"Content-Length over the signed size", []faultnet.Fault{faultnet.WrongLength(+10)}, origin.ErrTooLarge, 0, kernelBuffered},
		{"503 with Retry-After", []faultnet.Fault{faultnet.Status(503, "0"), faultnet.Status(503, "0")}, nil, 0, 0},
		{"429 with Retry-After", []faultnet.Fault{faultnet.Status(429, "1")}, nil, 0, 0},
		{"stall without closing", []faultnet.Fault{faultnet.Stall(64 << 10)}, nil, 0, slack},
		{"origin ignores Range on resume", []faultnet.Fault{faultnet.Drop(100 << 10), faultnet.IgnoreRange()}, nil, 0, 100<<10 + slack},
		{"500 until the retries run out", repeat(faultnet.Status(500, ""), 4), origin.ErrRetriesExhausted, 500, 0},
		{"redirect loop", []faultnet.Fault{faultnet.RedirectLoop()}, origin.ErrRedirects, 0, 11 * 128},
		{"endless body", []faultnet.Fault{faultnet.Endless()}, origin.ErrTooLarge, 0, kernelBuffered},
		{"link lost half-way, back later", append([]faultnet.Fault{faultnet.Drop(128 << 10)}, repeat(faultnet.Status(503, ""), 4)...), origin.ErrRetriesExhausted, 503, slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, d := installedV1(t)
			m := sim.Publish(originsim.Release{Version: "2.0"}, v2big)
			f, _ := m.Lookup("big.bin")
			blobPath := layout.Blob(f.SHA256)

			net := d.overFaultnet(t, sim)
			net.Plan(blobPath, tc.faults...)

			_, err := Run(context.Background(), d.opt)
			var status *origin.StatusError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("did not survive the fault: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want errors.Is %v", err, tc.wantErr)
			case tc.status != 0 && (!errors.As(err, &status) || status.Code != tc.status):
				t.Fatalf("err = %v, want one wrapping an HTTP status %d", err, tc.status)
			case tc.wantErr != nil:
				if got := d.files(t); !sameTree(got, v1) {
					t.Fatalf("a failed update changed the target: %v", got)
				}
				if _, err := Run(context.Background(), d.opt); err != nil {
					t.Fatalf("once the network behaves: %v", err)
				}
			}
			if got := d.files(t); !sameTree(got, v2big) {
				t.Fatal("the target is not exactly 2.0")
			}
			if got, left := net.Fired(blobPath), net.Pending(blobPath); got != len(tc.faults) || left != 0 {
				t.Fatalf("%d of the %d planned faults struck (%d never served)", got, len(tc.faults), left)
			}
			net.Close()
			var sent int64
			for _, e := range net.Log() {
				if e.Path == "/"+blobPath {
					sent += e.Bytes
				}
			}
			if sent > f.ZSize+tc.extra {
				t.Fatalf("blob of %d bytes cost %d bytes on the wire, more than %d lost", f.ZSize, sent, tc.extra)
			}
		})
	}
}

func repeat(f faultnet.Fault, n int) []faultnet.Fault {
	out := make([]faultnet.Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}
