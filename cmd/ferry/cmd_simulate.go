package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/server"
	"github.com/ferry-ota/ferry/internal/fleet/sim"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
)

const simulateUsage = `
ferry fleet simulate runs N simulated devices, each the real update code
with its own in-memory flash, polling the origin at URL (as served by
ferry serve) every --poll, give or take --jitter, with link faults and
power cuts at the rates set, and reporting every cycle to the fleet
service at --fleet with its own key (enrolled with the token). Time is
compressed: choose --poll (and the rollout policy's --every) as if seconds
were hours. It prints the versions across the fleet over time, the time
each version took to reach 50, 95 and 100% of the devices, origin requests
and bytes per device and per cycle, reports sent, and failures by reason.

flags of simulate:
  --devices N        how many devices (required)
  --origin URL       the origin's base URL (required)
  --root FILE        the root.pub the devices pin (required)
  --fleet URL        the fleet service's base URL (reports go to URL/v1/reports)
  --token-file FILE  the enrollment token (the first line; required with --fleet)
  --channel C        the channel (default stable)
  --poll D           the mean time between polls (default 10s)
  --jitter F         each wait is poll × (1 ± F) (default 0.5)
  --duration D       how long to run (default 5m)
  --rounds R         stop each device after R polls instead (default 0: --duration)
  --fault-rate P     probability of a link fault per request (default 0)
  --power-cut-rate P probability of a power cut per cycle (default 0)
  --unhealthy LIST   versions whose health check fails on every device (comma-separated)
  --workers W        device cycles run at once (default 16 per CPU)
  --seed S           of every random choice (default 1)
  --id-prefix P      device ids are P00000, P00001, ... (default sim-)
`

// simFlags are the flags of ferry fleet simulate.
type simFlags struct {
	devices, rounds, workers            *int
	origin, root, fleet, token, channel *string
	unhealthy, idPrefix                 *string
	poll, duration                      *time.Duration
	jitter, faults, cuts                *float64
	seed                                *uint64
}

func newSimFlags(fs *flag.FlagSet) simFlags {
	return simFlags{devices: fs.Int("devices", 0, ""), rounds: fs.Int("rounds", 0, ""), workers: fs.Int("workers", 0, ""),
		origin: fs.String("origin", "", ""), root: fs.String("root", "", ""), fleet: fs.String("fleet", "", ""),
		token: fs.String("token-file", "", ""), channel: fs.String("channel", "stable", ""),
		unhealthy: fs.String("unhealthy", "", ""), idPrefix: fs.String("id-prefix", "sim-", ""),
		poll: fs.Duration("poll", 10*time.Second, ""), duration: fs.Duration("duration", 5*time.Minute, ""),
		jitter: fs.Float64("jitter", 0.5, ""), faults: fs.Float64("fault-rate", 0, ""), cuts: fs.Float64("power-cut-rate", 0, ""),
		seed: fs.Uint64("seed", 1, "")}
}

func runFleetSimulate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("fleet simulate", flag.ContinueOnError)
	f := newSimFlags(fs)
	if err := noArgs(parseFlags(fs, args)); err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "simulating %d devices against %s for %s (poll %s ± %.0f%%)\n", cfg.Devices, cfg.Origin, *f.duration, cfg.Poll, cfg.Jitter*100)
	res := sim.New(cfg).Run(ctx)
	res.Print(e.stdout)
	return nil
}

// config checks the flags and makes the simulation's configuration.
func (f simFlags) config() (sim.Config, error) {
	if err := required(map[string]string{"origin": *f.origin, "root": *f.root}); err != nil {
		return sim.Config{}, err
	}
	switch {
	case *f.devices < 1:
		return sim.Config{}, fmt.Errorf("%w: --devices must be at least 1", errUsage)
	case *f.poll <= 0 || *f.duration <= 0 || *f.rounds < 0:
		return sim.Config{}, fmt.Errorf("%w: --poll and --duration must be positive, --rounds not negative", errUsage)
	case *f.jitter < 0 || *f.jitter >= 1 || *f.faults < 0 || *f.faults > 1 || *f.cuts < 0 || *f.cuts > 1:
		return sim.Config{}, fmt.Errorf("%w: --jitter is from 0 to below 1; --fault-rate and --power-cut-rate from 0 to 1", errUsage)
	case (*f.fleet == "") != (*f.token == ""):
		return sim.Config{}, fmt.Errorf("%w: give --fleet and --token-file together", errUsage)
	}
	base, err := url.Parse(*f.origin)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return sim.Config{}, fmt.Errorf("%w: --origin %q is not an http(s) URL", errUsage, *f.origin)
	}
	data, err := os.ReadFile(*f.root)
	if err != nil {
		return sim.Config{}, fmt.Errorf("--root: %w", err)
	}
	roots, err := trust.ParseRoots(data)
	if err != nil {
		return sim.Config{}, fmt.Errorf("--root %q: %w", *f.root, err)
	}
	cfg := sim.Config{Devices: *f.devices, Origin: base, Roots: roots, Channel: *f.channel, Poll: *f.poll, Jitter: *f.jitter,
		Duration: *f.duration, Rounds: *f.rounds, FaultRate: *f.faults, PowerCutRate: *f.cuts, Workers: *f.workers,
		Seed: *f.seed, IDPrefix: *f.idPrefix, Unhealthy: map[string]bool{},
		Retry: origin.RetryPolicy{Retries: 5, Initial: min(time.Second, *f.poll/20), Max: *f.poll / 2}}
	for _, v := range strings.Split(*f.unhealthy, ",") {
		if v = strings.TrimSpace(v); v != "" {
			cfg.Unhealthy[v] = true
		}
	}
	if *f.fleet != "" {
		tokens, err := server.LoadTokens(*f.token)
		if err != nil {
			return cfg, fmt.Errorf("--token-file: %w", err)
		}
		cfg.Reports, cfg.Token = strings.TrimSuffix(*f.fleet, "/")+"/v1/reports", tokens[0]
	}
	return cfg, nil
}
