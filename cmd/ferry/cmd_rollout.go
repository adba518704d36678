package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/publish"
)

var rolloutCmd = &command{name: "rollout", run: runRollout, usage: `usage: ferry rollout --keys KEYS --origin ORIGIN --percent P [--channel stable] [--pointer-lifetime 168h]

Change how many devices take the channel's current release: re-sign the
channel pointer with rollout P (0 to 100) and the next sequence, so devices
notice, valid for --pointer-lifetime from now (never past the manifest's
expiry). Version and manifest stay. A device takes the release when its
bucket (from its id and the version) is below P.

With --github OWNER/REPO --tag TAG, the new pointer then replaces the one on
the GitHub release TAG, the release of the channel's current version.

flags:
  --keys KEYS        the key folder (required)
  --origin ORIGIN    the origin folder (required)
  --percent P        the rollout percentage, 0 to 100 (required)
  --channel C        the channel (default stable)
  --pointer-lifetime D  how long devices accept the new pointer (default 168h, 7 days)
  --github O/R       also update the GitHub release of this repository
  --tag TAG          the GitHub release to update (with --github)
  --token-file F     a file holding a GitHub token allowed to write contents
  --github-api URL   the GitHub API (default https://api.github.com)
`}

func runRollout(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("rollout", flag.ContinueOnError)
	keyDir := fs.String("keys", "", "")
	origin := fs.String("origin", "", "")
	channel := fs.String("channel", "stable", "")
	percent := fs.Int("percent", -1, "")
	lifetime := fs.Duration("pointer-lifetime", publish.DefaultPointerLifetime, "")
	gh := addGitHubFlags(fs)
	if err := noArgs(parseFlags(fs, args)); err != nil {
		return err
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
	now := time.Now()
	ring, err := keys.Load(*keyDir, now)
	if err != nil {
		return err
	}
	p, err := publish.Rollout(ctx, *origin, *channel, *percent, ring, *lifetime, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "channel %s: version %s at %d%% (sequence %d)\n", p.Channel, p.Version, p.Rollout, p.Sequence)
	return gh.upload(ctx, e, *origin, *channel)
}
