package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/reporter"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/update"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// maxQueue bounds a device's unsent reports.
const maxQueue = 20

// device is one simulated device: its flash, key and what it remembers
// outside the update code (the agent's failed-release list and report
// queue, kept in memory here).
type device struct {
	id      string
	key     ed25519.PrivateKey
	fs      *vfs.MemFS
	src     origin.Source
	link    *link
	rng     *rand.Rand
	failed  map[manifest.Digest]string // releases that failed the health check
	number  uint64
	queue   [][]byte
	version string          // installed and confirmed
	tried   map[string]bool // versions installed (confirmed or rolled back); under Sim.mu
}

// outcome is what a cycle did, for the report and the counts.
type outcome struct {
	kind, reason, target string
	bytes                int64
}

// cycle runs one update cycle of d, its health gate, and its report.
func (s *Sim) cycle(ctx context.Context, d *device) {
	start, reqs, wire := time.Now(), d.link.requests.Load(), d.link.wire.Load()
	in := &install.Installer{FS: d.fs, Target: "/app", State: "/state", Decode: update.DecodeStored(manifest.Limits{})}
	if s.cfg.PowerCutRate > 0 && d.rng.Float64() < s.cfg.PowerCutRate {
		d.fs.SetPowerCutAt(1 + d.rng.IntN(12)) // a poll writes a few times; an update many
	}
	o := s.update(ctx, d, in)
	if d.fs.PoweredOff() {
		d.fs.Crash(vfs.KeepRandom(d.rng.Uint32()))
		// Not counted against the release (no target): the cut is the
		// power's fault, and the next cycle recovers.
		o = outcome{kind: report.Failed, reason: "power cut", bytes: o.bytes}
		s.count(func(r *Result) { r.PowerCuts++ })
	}
	d.fs.SetPowerCutAt(0)
	if ctx.Err() != nil {
		return // stopped mid-cycle: not a result of the device
	}
	s.settle(d, in, o, d.link.requests.Load()-reqs, d.link.wire.Load()-wire)
	s.report(ctx, d, in, o, time.Since(start))
}

// update runs update.Run and then the health gate of a release on trial.
func (s *Sim) update(ctx context.Context, d *device, in *install.Installer) outcome {
	if err := d.mkdirs(); err != nil {
		return outcome{kind: report.Failed, reason: err.Error()}
	}
	res, err := update.Run(ctx, update.Options{Source: d.src, Installer: in, Roots: s.cfg.Roots, Channel: s.cfg.Channel,
		Retry: s.cfg.Retry, Trial: true, Admit: d.admit})
	if err != nil {
		return outcome{kind: report.Failed, reason: err.Error()}
	}
	o := outcome{kind: report.UpToDate, target: res.To, bytes: res.Downloaded}
	if res.Deferred != "" {
		o.kind, o.reason = report.Deferred, res.Deferred
	}
	rec, err := in.Installed()
	if err != nil || rec == nil || !rec.Trial {
		if res.Install != nil {
			o.kind = report.Updated
		}
		return o
	}
	return s.gate(ctx, d, in, rec, o)
}

// gate is the health check of a release on trial: it fails for the
// versions in Unhealthy, which are rolled back and never taken again.
func (s *Sim) gate(ctx context.Context, d *device, in *install.Installer, rec *install.Record, o outcome) outcome {
	o.target = rec.Version
	if s.cfg.Unhealthy[rec.Version] {
		d.failed[rec.Manifest] = rec.Version
		if _, err := in.Rollback(ctx); err != nil {
			return outcome{kind: report.Failed, reason: "rollback: " + err.Error(), target: rec.Version, bytes: o.bytes}
		}
		return outcome{kind: report.RolledBack, reason: "health check failed", target: rec.Version, bytes: o.bytes}
	}
	if err := in.Confirm(ctx); err != nil {
		return outcome{kind: report.Failed, reason: "confirm: " + err.Error(), target: rec.Version, bytes: o.bytes}
	}
	o.kind = report.Updated
	return o
}

// admit is the agent's Admit: a release that failed here is not taken
// again; the canary bucket decides under a staged rollout.
func (d *device) admit(p *manifest.Pointer) (bool, string) {
	if v, ok := d.failed[p.Manifest]; ok {
		return false, fmt.Sprintf("release %s failed its health check: waiting for a newer release", v)
	}
	if p.Rollout < 100 && canary.Bucket(d.id, p.Version) >= p.Rollout {
		return false, fmt.Sprintf("staged rollout at %d%%", p.Rollout)
	}
	return true, ""
}

func (d *device) mkdirs() error {
	for _, dir := range []string{"/app", "/state"} {
		if err := d.fs.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// settle records the device's confirmed version and the cycle's outcome.
func (s *Sim) settle(d *device, in *install.Installer, o outcome, reqs, wire int64) {
	v := d.version
	if rec, err := in.Installed(); err == nil && rec != nil && !rec.Trial {
		v = rec.Version
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := time.Since(s.start)
	k := s.res.ByOutcome[o.kind]
	k.Cycles, k.Requests, k.WireBytes = k.Cycles+1, k.Requests+reqs, k.WireBytes+wire
	k.MaxRequests = max(k.MaxRequests, reqs)
	s.res.ByOutcome[o.kind] = k
	if v != d.version {
		s.counts[d.version]--
		s.counts[v]++
		s.res.reach(v, at)
		d.version = v
	}
	s.res.Cycles++
	if (o.kind == report.Updated || o.kind == report.RolledBack) && !d.tried[o.target] {
		d.tried[o.target] = true
		s.tried[o.target]++
	}
	switch o.kind {
	case report.Failed, report.RolledBack:
		s.res.Failures[o.kind+": "+normalize(o.reason)]++
	case report.Deferred:
		s.res.Deferrals[normalize(o.reason)]++
	}
}

// report signs the cycle's report and sends it with any queued before.
func (s *Sim) report(ctx context.Context, d *device, in *install.Installer, o outcome, took time.Duration) {
	if s.cfg.Reports == "" {
		return
	}
	d.number++
	r := &report.Report{Device: d.id, Number: uint64(s.start.UnixMilli())*1000 + d.number, Time: time.Now(), Channel: s.cfg.Channel,
		Version: d.version, Outcome: o.kind, Reason: trim(o.reason, 500), Target: o.target, Bytes: o.bytes, DurationMS: took.Milliseconds(), Link: "sim"}
	if rec, err := in.Installed(); err == nil && rec != nil {
		r.Sequence = rec.Sequence
	}
	env, err := report.Sign(r, d.key)
	if err != nil {
		s.count(func(r *Result) { r.ReportsRefused++ })
		return
	}
	d.queue = append(d.queue, env)
	if len(d.queue) > maxQueue {
		d.queue = d.queue[1:]
	}
	for len(d.queue) > 0 {
		permanent, err := s.post(ctx, d.queue[0])
		if err != nil && !permanent {
			return // kept for the next cycle
		}
		d.queue = d.queue[1:]
		s.count(func(r *Result) {
			if err != nil {
				r.ReportsRefused++
				r.Refusals[normalize(err.Error())]++
			} else {
				r.ReportsSent++
			}
		})
	}
}

func (s *Sim) post(ctx context.Context, body []byte) (permanent bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Reports, bytes.NewReader(body))
	if err != nil {
		return true, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(reporter.TokenHeader, s.cfg.Token)
	resp, err := s.reports.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return true, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return false, errors.New(resp.Status)
}

func (s *Sim) count(f func(*Result)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.res)
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
