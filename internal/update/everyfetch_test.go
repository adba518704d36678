package update

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/delta/deltagen"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// defaultPolicy is the retry policy of a config that sets nothing: the
// default http_retries, with backoff_sec and max_backoff_sec read as
// milliseconds instead of seconds to keep the tests short.
func defaultPolicy(t *testing.T) (origin.RetryPolicy, time.Duration) {
	t.Helper()
	cfg, err := config.Parse([]byte("origin = \"http://127.0.0.1/\"\ntarget = \"/t/app\"\nstate = \"/t/state\"\nroot_keys = [\"/t/root.pub\"]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := origin.PolicyFromConfig(cfg)
	p.Initial = time.Duration(cfg.BackoffSec) * time.Millisecond
	p.Max = time.Duration(cfg.MaxBackoffSec) * time.Millisecond
	p.Logger = slog.New(slog.DiscardHandler)
	return p, time.Duration(cfg.StallSec) * 10 * time.Millisecond // stall_sec, 1/100 of it
}

// overLinkTo makes d fetch from the origin h serves through a real HTTP
// server behind a fault-injecting network, with the default retry policy.
func (d *device) overLinkTo(t *testing.T, h http.Handler) *faultnet.Handler {
	t.Helper()
	_, stall := defaultPolicy(t)
	return d.overLinkStall(t, h, stall)
}

// overLinkStall is overLinkTo with the stall cut-off stall.
func (d *device) overLinkStall(t *testing.T, h http.Handler, stall time.Duration) *faultnet.Handler {
	t.Helper()
	net, srv := faultnet.NewServer(t, h)
	u, _ := url.Parse(srv.URL + "/")
	retry, _ := defaultPolicy(t)
	d.opt.Source = origin.WithRetry(origin.NewHTTP(u, origin.HTTPOptions{StallTimeout: stall}), retry)
	d.opt.Retry = retry
	return net
}

// stallFor is the stall cut-off of a case of TestEveryFetchSurvivesTheLink:
// the default's hundredth where the fault is a stall, the default itself
// elsewhere, so that a loaded machine's slow answer is not cut before the
// planned fault strikes.
func stallFor(t *testing.T, fault string) time.Duration {
	_, stall := defaultPolicy(t)
	if strings.Contains(fault, "stall") {
		return stall
	}
	return 100 * stall
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return string(b)
}

// linkCase is one kind of request the agent makes, staged on an origin.
type linkCase struct {
	fresh bool // the device installs from nothing (else it holds 1.0)
	// stage publishes 2.0 (and what the kind needs) and returns the path
	// of the request to disturb and the paths that must not be fetched
	// (the fallbacks that would hide a failure of that request).
	stage func(t *testing.T, sim *originsim.Sim) (path string, never []string)
}

var (
	linkV1 = originsim.Tree{"main.py": "print(1)\n", "data.bin": random(48 << 10), "run.sh": "#!/bin/sh\n"}
	linkV2 = func() originsim.Tree {
		data := []byte(linkV1["data.bin"])
		data = append(bytes.Clone(data[:20000]), append([]byte("an edit of a few bytes"), data[20000:]...)...)
		return originsim.Tree{"main.py": "print(2)\n" + random(8<<10), "data.bin": string(data), "run.sh": "#!/bin/sh\n", "big.bin": random(200 << 10)}
	}()
)

// linkCases are the kinds of request of an update cycle: each is the
// request the fault is planned on.
var linkCases = map[string]linkCase{
	"pointer": {fresh: true, stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		return layout.Channel("stable"), nil
	}},
	"signing keys": {fresh: true, stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		return layout.SigningKeys2, nil // a fresh device fetches the format-2 list
	}},
	"manifest": {fresh: true, stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		return layout.Manifest("2.0"), nil
	}},
	"blob": {fresh: true, stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		m := sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		f, _ := m.Lookup("big.bin")
		return layout.Blob(f.SHA256), nil
	}},
	"manifest patch": {stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		oldNote := sim.Get(layout.Manifest("1.0"))
		sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		newNote := sim.Get(layout.Manifest("2.0"))
		path := layout.Delta(sha256.Sum256(oldNote), sha256.Sum256(newNote))
		sim.Put(path, diff(t, oldNote, newNote))
		return path, []string{layout.Manifest("2.0")}
	}},
	"patch": {stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		m1 := sim.Publish(originsim.Release{Version: "1.1"}, linkV1) // the same files: m1 is 1.0's
		m2 := sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		f1, _ := m1.Lookup("data.bin")
		f2, _ := m2.Lookup("data.bin")
		path := layout.Delta(f1.SHA256, f2.SHA256)
		sim.Put(path, diff(t, []byte(linkV1["data.bin"]), []byte(linkV2["data.bin"])))
		return path, []string{layout.Blob(f2.SHA256)}
	}},
	"bundle": {stage: func(t *testing.T, sim *originsim.Sim) (string, []string) {
		oldNote := sim.Get(layout.Manifest("1.0"))
		m2 := sim.Publish(originsim.Release{Version: "2.0"}, linkV2)
		newNote := sim.Get(layout.Manifest("2.0"))
		path := layout.Bundle(sha256.Sum256(oldNote), sha256.Sum256(newNote))
		sim.Put(path, makeBundle(t, sim, "1.0", "2.0", linkV1, linkV2))
		never := []string{layout.Manifest("2.0")}
		for _, f := range m2.Files {
			never = append(never, layout.Blob(f.SHA256))
		}
		return path, never
	}},
}

func diff(t *testing.T, old, new []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := deltagen.Diff(old, new, &b, deltagen.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEveryFetchSurvivesTheLink: whatever request the link breaks (the
// channel pointer, the signing-key list, the manifest, a manifest patch, a
// bundle, a patch, a blob), dropped, cut short or stalled half-way, or
// dropped on an origin that then ignores Range, the update completes with
// the default retry policy, and the target is exactly 2.0. The planned
// faults must all have struck, the request must have resumed (or, on the
// origin that ignores Range, started again) rather than given up for a
// fallback, and no fallback was fetched.
func TestEveryFetchSurvivesTheLink(t *testing.T) {
	t.Parallel()
	faults := map[string]func(half int64) []faultnet.Fault{
		"drop":     func(h int64) []faultnet.Fault { return []faultnet.Fault{faultnet.Drop(h)} },
		"truncate": func(h int64) []faultnet.Fault { return []faultnet.Fault{faultnet.Truncate(h)} },
		"stall":    func(h int64) []faultnet.Fault { return []faultnet.Fault{faultnet.Stall(h)} },
		"drop, then Range ignored": func(h int64) []faultnet.Fault {
			return []faultnet.Fault{faultnet.Drop(h), faultnet.IgnoreRange()}
		},
	}
	for kind, lc := range linkCases {
		for fname, fault := range faults {
			t.Run(kind+"/"+fname, func(t *testing.T) {
				t.Parallel()
				sim := originsim.New(t)
				sim.Publish(originsim.Release{Version: "1.0"}, linkV1)
				d := newDevice(t, sim)
				if !lc.fresh {
					d.mustRun(t)
				}
				path, never := lc.stage(t, sim)
				size := int64(len(sim.Get(path)))
				if size < 2 {
					t.Fatalf("%s is %d bytes: too small to cut", path, size)
				}
				net := d.overLinkStall(t, serveSim(sim), stallFor(t, fname))
				planned := fault(size / 2)
				net.Plan(path, planned...)
				res, err := Run(context.Background(), d.opt)
				if err != nil {
					t.Fatalf("the update failed: %v", err)
				}
				if got := d.files(t); !sameTree(got, linkV2) || res.To != "2.0" {
					t.Fatalf("the target is not exactly 2.0 (%s)", res)
				}
				if got := net.Fired(path); got != len(planned) {
					t.Fatalf("%d of the %d faults planned on %s struck", got, len(planned), path)
				}
				net.Close()
				var sent int64
				for _, e := range net.Log() {
					for _, p := range never {
						if e.Path == "/"+p {
							t.Fatalf("fell back to %s instead of resuming %s", p, path)
						}
					}
					if e.Path == "/"+path {
						sent += e.Bytes
					}
				}
				// A resumed transfer costs the file and at most what the
				// link lost; an origin that ignores Range sends it again.
				limit := size + size/2 + 1
				if len(planned) > 1 {
					limit += size
				}
				if sent > limit {
					t.Fatalf("%s of %d bytes cost %d bytes on the wire, want at most %d", path, size, sent, limit)
				}
			})
		}
	}
}

// TestFreshInstallOverABadLink is the field link of issue 13: an origin
// that cuts the first transfer of every file larger than 1 KiB half-way.
// A fresh install of a 546-file tree completes with the default retry
// policy, exactly, and every one of those cuts struck; also from an origin
// that ignores Range (every resumption starts from 0). A poll afterwards,
// with nothing new, is one conditional request.
func TestFreshInstallOverABadLink(t *testing.T) {
	t.Parallel()
	tree := originsim.Tree{}
	for i := range 546 {
		content := fmt.Sprintf("file %d\n", i)
		if i%2 == 0 {
			content = random(1<<10 + 1 + i*7)
		}
		tree[fmt.Sprintf("lib/m%03d/f%d.py", i%40, i)] = content
	}
	for _, ignoreRange := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore Range=%v", ignoreRange), func(t *testing.T) {
			t.Parallel()
			sim := originsim.New(t)
			sim.Publish(originsim.Release{Version: "1.26.0"}, tree)
			d := newDevice(t, sim)
			var h http.Handler = serveSim(sim)
			if ignoreRange {
				next := h
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r.Header.Del("Range")
					next.ServeHTTP(w, r)
				})
			}
			net := d.overLinkTo(t, h)
			var cut []string
			for path, data := range sim.Snapshot() {
				if len(data) > 1<<10 {
					net.Plan(path, faultnet.Drop(int64(len(data)/2)))
					cut = append(cut, path)
				}
			}
			if len(cut) < 200 || !contains(cut, layout.Manifest("1.26.0")) {
				t.Fatalf("only %d files over 1 KiB, or not the manifest", len(cut))
			}
			res, err := Run(context.Background(), d.opt)
			if err != nil {
				t.Fatalf("fresh install over a link that cuts every file: %v", err)
			}
			if !sameTree(d.files(t), tree) || res.To != "1.26.0" {
				t.Fatalf("the target is not exactly 1.26.0 (%s)", res)
			}
			for _, p := range cut {
				if net.Fired(p) != 1 {
					t.Fatalf("the cut planned on %s did not strike", p)
				}
			}
			before := net.Requests()
			if res, err := Run(context.Background(), d.opt); err != nil || !res.UpToDate {
				t.Fatalf("poll with nothing new: %v, %v", res, err)
			}
			if n := net.Requests() - before; n != 1 {
				t.Fatalf("a poll with nothing new made %d requests, want one conditional request", n)
			}
		})
	}
}

// TestEveryFetchAtTheLiteralDefaults: the same breaks, dropped or cut short
// half-way, with the config's defaults taken as they are (3 retries, 2 s
// first backoff with jitter, 30 s stall cut-off): one retry each, so every
// case waits one real backoff, 1 to 3 s. The cases are set up in turn and
// their updates run at once (they mostly sleep), so the test takes one
// backoff, not fourteen.
func TestEveryFetchAtTheLiteralDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte("origin = \"http://127.0.0.1/\"\ntarget = \"/t/app\"\nstate = \"/t/state\"\nroot_keys = [\"/t/root.pub\"]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	retry := origin.PolicyFromConfig(cfg)
	retry.Logger = slog.New(slog.DiscardHandler)
	type run struct {
		name string
		d    *device
		net  *faultnet.Handler
		path string
		err  error
	}
	var runs []*run
	for kind, lc := range linkCases {
		for fname, fault := range map[string]func(int64) faultnet.Fault{"drop": faultnet.Drop, "truncate": faultnet.Truncate} {
			sim := originsim.New(t)
			sim.Publish(originsim.Release{Version: "1.0"}, linkV1)
			d := newDevice(t, sim)
			if !lc.fresh {
				d.mustRun(t)
			}
			path, _ := lc.stage(t, sim)
			net, srv := faultnet.NewServer(t, serveSim(sim))
			u, _ := url.Parse(srv.URL + "/")
			d.opt.Source = origin.WithRetry(origin.NewHTTP(u, origin.HTTPOptionsFromConfig(cfg, "test")), retry)
			d.opt.Retry = retry
			net.Plan(path, fault(int64(len(sim.Get(path))/2)))
			runs = append(runs, &run{name: kind + "/" + fname, d: d, net: net, path: path})
		}
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { _, r.err = Run(context.Background(), r.d.opt) })
	}
	wg.Wait()
	for _, r := range runs {
		switch {
		case r.err != nil:
			t.Errorf("%s: the update failed: %v", r.name, r.err)
		case !sameTree(r.d.files(t), linkV2):
			t.Errorf("%s: the target is not exactly 2.0", r.name)
		case r.net.Fired(r.path) != 1:
			t.Errorf("%s: the fault planned on %s did not strike", r.name, r.path)
		}
	}
}
