package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/rollout"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/publish"
)

var rolloutCmd = &command{name: "rollout", run: runRollout, usage: `usage: ferry rollout --keys KEYS --origin ORIGIN --percent P [--channel stable] [--pointer-lifetime 168h]
       ferry rollout --channel C --db DB --stages 1,10,50,100 [--every 6h]
                     [--halt-on-failure-rate 5%] [--min-reports 20] [--keys KEYS --origin ORIGIN]
       ferry rollout --channel C --db DB --status

Change how many devices take the channel's current release: re-sign the
channel pointer with rollout P (0 to 100) and the next sequence, so devices
notice, valid for --pointer-lifetime from now (never past the manifest's
expiry). Version and manifest stay. A device takes the release when its
bucket (from its id and the version) is below P.

With --github OWNER/REPO --tag TAG, the new pointer then replaces the one on
the GitHub release TAG, the release of the channel's current version.

With --stages, store a staged-rollout policy for the channel in the fleet
database DB (as ferry fleet serve --db): the release moves through the
stages, at least --every apart, while it is healthy, and halts when the
failure rate among devices that tried it reaches the threshold (counted
once --min-reports devices tried it). With --keys and --origin the pointer
is also re-signed at the first stage with the header "rollout-doc 1": from
then on the fleet service (ferry fleet serve --origin ORIGIN --rollout-keys
F) governs the stage, and devices take the stage and any halt from its
signed rollout document, ORIGIN/rollouts/C.note, taking nothing while it is
missing or stale. Agents made before that header use the pointer's first
stage and ignore halts. --status shows the policy, where the release
stands and the decision the fleet service takes now, and why.

flags:
  --keys KEYS        the key folder (required with --percent)
  --origin ORIGIN    the origin folder (required with --percent)
  --percent P        the rollout percentage, 0 to 100
  --channel C        the channel (default stable)
  --pointer-lifetime D  how long devices accept the new pointer (default 168h, 7 days)
  --github O/R       also update the GitHub release of this repository
  --tag TAG          the GitHub release to update (with --github)
  --token-file F     a file holding a GitHub token allowed to write contents
  --github-api URL   the GitHub API (default https://api.github.com)
  --db DB            the fleet database: an SQLite file or a postgres:// URL
  --stages LIST      rollout percentages in rising order, ending at 100
  --every D          the least time at each stage (default 6h)
  --halt-on-failure-rate R  halt at this failure rate (default 5%)
  --min-reports N    devices that must have tried the release first (default 20)
  --status           show the channel's staged rollout
`}

// rolloutFlags are the flags of the staged-rollout policy.
type rolloutFlags struct {
	db, stages, rate *string
	every            *time.Duration
	minReports       *int
	status           *bool
}

func runRollout(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("rollout", flag.ContinueOnError)
	keyDir := fs.String("keys", "", "")
	origin := fs.String("origin", "", "")
	channel := fs.String("channel", "stable", "")
	percent := fs.Int("percent", -1, "")
	lifetime := fs.Duration("pointer-lifetime", publish.DefaultPointerLifetime, "")
	gh := addGitHubFlags(fs)
	rf := rolloutFlags{db: fs.String("db", "", ""), stages: fs.String("stages", "", ""), rate: fs.String("halt-on-failure-rate", "5%", ""),
		every: fs.Duration("every", 6*time.Hour, ""), minReports: fs.Int("min-reports", 20, ""), status: fs.Bool("status", false, "")}
	if err := noArgs(parseFlags(fs, args)); err != nil {
		return err
	}
	if *rf.status || *rf.stages != "" {
		return runStaged(ctx, e, *channel, *keyDir, *origin, *percent, *lifetime, rf)
	}
	if err := gh.check(); err != nil {
		return err
	}
	if err := required(map[string]string{"keys": *keyDir, "origin": *origin, "channel": *channel}); err != nil {
		return err
	}
	if *percent < 0 || *percent > 100 {
		return fmt.Errorf("%w: --percent must be given, from 0 to 100", errUsage)
	}
	if *lifetime <= 0 {
		return fmt.Errorf("%w: --pointer-lifetime %v must be positive", errUsage, *lifetime)
	}
	p, err := resign(ctx, *keyDir, *origin, *channel, *percent, *lifetime)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "channel %s: version %s at %d%% (sequence %d)\n", p.Channel, p.Version, p.Rollout, p.Sequence)
	return gh.upload(ctx, e, *origin, *channel)
}

// resign re-signs the channel's pointer at percent.
func resign(ctx context.Context, keyDir, origin, channel string, percent int, lifetime time.Duration) (*manifest.Pointer, error) {
	now := time.Now()
	ring, err := keys.Load(keyDir, now)
	if err != nil {
		return nil, err
	}
	return publish.Rollout(ctx, origin, channel, percent, ring, lifetime, now)
}

// runStaged stores a staged-rollout policy, or shows its status.
func runStaged(ctx context.Context, e *env, channel, keyDir, origin string, percent int, lifetime time.Duration, rf rolloutFlags) error {
	switch {
	case *rf.db == "":
		return fmt.Errorf("%w: --stages and --status need --db, the fleet database", errUsage)
	case *rf.status && *rf.stages != "":
		return fmt.Errorf("%w: --status shows the policy: give it without --stages", errUsage)
	case percent >= 0:
		return fmt.Errorf("%w: --percent and --stages exclude each other: the stages set the percentage", errUsage)
	case (keyDir == "") != (origin == ""):
		return fmt.Errorf("%w: give --keys and --origin together, or neither", errUsage)
	}
	st, err := store.Open(ctx, *rf.db)
	if err != nil {
		return err
	}
	defer st.Close()
	if *rf.status {
		return showRollout(ctx, e, st, channel)
	}
	p, err := policyOf(rf)
	if err != nil {
		return err
	}
	release := ""
	if origin != "" {
		ptr, err := resignStaged(ctx, keyDir, origin, channel, p.Stages[0], lifetime)
		if err != nil {
			return err
		}
		release = ptr.Version
	}
	r, err := st.StartRollout(ctx, channel, p, release, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "channel %s: staged rollout %s\n", channel, p.String())
	if r.State.Release == "" {
		fmt.Fprintln(e.stdout, "no release reported on the channel yet: the policy applies to the first one")
	}
	return nil
}

func policyOf(rf rolloutFlags) (rollout.Policy, error) {
	stages, err := rollout.ParseStages(*rf.stages)
	if err != nil {
		return rollout.Policy{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	bp, err := rollout.ParseRate(*rf.rate)
	if err != nil {
		return rollout.Policy{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	p := rollout.Policy{Stages: stages, Every: *rf.every, HaltBP: bp, MinReports: *rf.minReports}
	if err := p.Check(); err != nil {
		return p, fmt.Errorf("%w: %v", errUsage, err)
	}
	return p, nil
}

func showRollout(ctx context.Context, e *env, st *store.Store, channel string) error {
	r, stats, d, err := st.RolloutStatus(ctx, channel, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("channel %q has no staged rollout: set one with --stages", channel)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "channel %s: %s\n", channel, r.Policy.String())
	if r.State.Release != "" {
		fmt.Fprintf(e.stdout, "release %s at stage %d of %d (%d%%) since %s; %d devices tried it, %d failed\n",
			r.State.Release, r.State.Stage+1, len(r.Policy.Stages), r.Policy.Stages[r.State.Stage],
			r.State.StageSince.Format(time.RFC3339), stats.Tried, stats.Failed)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", d.Action, d.Why)
	return nil
}

// resignStaged re-signs the channel's pointer at the first stage, governed
// by the fleet service's rollout document.
func resignStaged(ctx context.Context, keyDir, origin, channel string, percent int, lifetime time.Duration) (*manifest.Pointer, error) {
	now := time.Now()
	ring, err := keys.Load(keyDir, now)
	if err != nil {
		return nil, err
	}
	return publish.StagedRollout(ctx, origin, channel, percent, ring, lifetime, now)
}
