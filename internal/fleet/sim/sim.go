// Package sim is `ferry fleet simulate`: N simulated devices, each running
// the real update code (package update, with package install on its own
// in-memory flash, a vfs.MemFS) against a real origin over HTTP, and
// reporting to a real fleet service with its own Ed25519 key.
//
// # What is simulated
//
//   - Time is compressed, not simulated: devices poll every Poll (±Jitter)
//     of wall-clock time, so a run of minutes stands for days of a fleet
//     that polls hourly. The fleet service's rollout policy (`ferry rollout
//     --every`) is given in the same compressed time.
//   - At most Workers device cycles run at once (the rest wait for a
//     slot), so 10,000 devices fit on two cores; a device whose cycle waits
//     polls late, never twice at once.
//   - The link: with probability FaultRate a request fails before it is
//     sent, or its body is cut after a random number of bytes; the update
//     code's retries (Retry) and resumption do the rest.
//   - Power cuts: with probability PowerCutRate a cycle arms a power cut at
//     a random flash operation (vfs.MemFS.SetPowerCutAt); when it fires, the
//     device reboots (vfs.KeepRandom: a random part of what was not synced
//     survives) and its next cycle recovers, as a real device's would.
//   - The health check: a release whose version is in Unhealthy fails it on
//     every device, which rolls the release back (install.Rollback) and
//     never takes it again; any other release is confirmed.
//   - The canary check is the agent's (package canary) with the device's
//     id; with "rollout-doc 1" the percentage and halt come from the fleet
//     service's rollout document, as on a real device (package update).
//
// Each cycle sends one signed report (package report) to the fleet
// service, as ferry-agent does; a report that cannot be sent waits in a
// small in-memory queue and goes with the next one.
//
// # What is measured
//
// Result: the versions the devices run over time (a sample every Tick),
// the time each version took to reach 50, 95 and 100% of the fleet,
// origin requests (and how many were 304) and bytes per device (bodies,
// and an estimate of the headers on the wire), reports sent, and failures
// and deferrals grouped by reason.
package sim

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// Config configures a simulation.
type Config struct {
	Devices      int
	Origin       *url.URL
	Reports      string // the fleet service's report URL (…/v1/reports); "" sends none
	Token        string // the enrollment token
	Roots        *trust.Verifiers
	Channel      string
	Poll         time.Duration // mean time between a device's polls
	Jitter       float64       // each wait is Poll × (1 ± Jitter), uniformly
	Duration     time.Duration // stop after this long (0: only Rounds or ctx)
	Rounds       int           // stop a device after this many cycles (0: no limit)
	FaultRate    float64       // probability of a link fault per request
	PowerCutRate float64       // probability of a power cut per cycle
	Unhealthy    map[string]bool
	Workers      int    // cycles at once; default 16 × GOMAXPROCS
	Seed         uint64 // of every random choice
	IDPrefix     string // device ids are IDPrefix + 00000…
	Retry        origin.RetryPolicy
	Tick         time.Duration // timeline sample interval; default Duration/20 or Poll
	Logger       *slog.Logger
}

// Sim is a running simulation.
type Sim struct {
	cfg     Config
	devices []*device
	start   time.Time
	shared  *http.Transport
	reports *http.Client
	mu      sync.Mutex
	res     Result
	counts  map[string]int // devices per installed version ("" none)
	tried   map[string]int // devices that installed each version
}

// New prepares N devices, each with empty flash.
func New(cfg Config) *Sim {
	if cfg.Workers <= 0 {
		cfg.Workers = 16 * runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Retry.Logger == nil {
		cfg.Retry.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Tick <= 0 {
		cfg.Tick = max(cfg.Duration/20, cfg.Poll)
	}
	tr := &http.Transport{MaxIdleConns: cfg.Workers * 2, MaxIdleConnsPerHost: cfg.Workers * 2, IdleConnTimeout: time.Minute}
	s := &Sim{cfg: cfg, shared: tr, counts: map[string]int{"": cfg.Devices}, tried: map[string]int{},
		reports: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Workers * 2}}}
	s.res = newResult(cfg.Devices)
	for i := range cfg.Devices {
		s.devices = append(s.devices, s.newDevice(i))
	}
	return s
}

func (s *Sim) newDevice(i int) *device {
	id := s.cfg.IDPrefix + pad(i)
	seed := sha256.Sum256([]byte("ferry-sim\x00" + id))
	d := &device{id: id, key: ed25519.NewKeyFromSeed(seed[:]), fs: vfs.NewMemFS(), failed: map[manifest.Digest]string{}, tried: map[string]bool{},
		rng: rand.New(rand.NewPCG(s.cfg.Seed, uint64(i)))}
	d.link = &link{next: s.shared, dev: d, rate: s.cfg.FaultRate}
	d.src = origin.NewHTTP(s.cfg.Origin, origin.HTTPOptions{Version: "sim", Transport: d.link, StallTimeout: 20 * time.Second})
	return d
}

// Run runs the devices until ctx ends, Duration passes or every device
// made Rounds cycles, and returns what was measured.
func (s *Sim) Run(ctx context.Context) *Result {
	if s.cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Duration)
		defer cancel()
	}
	s.start = time.Now()
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, d := range s.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.live(ctx, d, sem)
		}()
	}
	stop := make(chan struct{})
	go s.sample(stop)
	wg.Wait()
	close(stop)
	return s.Snapshot()
}

// live is one device's life: a first poll at a random point of the first
// interval, then one every Poll ± Jitter.
func (s *Sim) live(ctx context.Context, d *device, sem chan struct{}) {
	wait := time.Duration(d.rng.Float64() * float64(s.cfg.Poll))
	for round := 0; s.cfg.Rounds == 0 || round < s.cfg.Rounds; round++ {
		if !sleep(ctx, wait) {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		s.cycle(ctx, d)
		<-sem
		wait = time.Duration(float64(s.cfg.Poll) * (1 + s.cfg.Jitter*(2*d.rng.Float64()-1)))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// sample records the versions across the fleet every Tick.
func (s *Sim) sample(stop chan struct{}) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.res.sample(time.Since(s.start), s.counts)
			s.mu.Unlock()
		}
	}
}

// Snapshot returns what was measured so far.
func (s *Sim) Snapshot() *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res.clone()
	r.Tried = maps.Clone(s.tried)
	r.Elapsed = time.Since(s.start)
	r.sample(r.Elapsed, s.counts)
	for _, d := range s.devices {
		r.Requests += d.link.requests.Load()
		r.NotModified += d.link.notModified.Load()
		r.BodyBytes += d.link.body.Load()
		r.WireBytes += d.link.wire.Load()
		r.LinkFaults += d.link.faults.Load()
	}
	return r
}

// Tried returns how many devices installed version so far, whether they
// kept it or rolled it back.
func (s *Sim) Tried(version string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tried[version]
}

// Versions returns how many devices run each version now ("": none yet).
func (s *Sim) Versions() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for v, n := range s.counts {
		if n > 0 {
			out[v] = n
		}
	}
	return out
}

func pad(i int) string { return fmt.Sprintf("%05d", i) }
