package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/publish"
)

var refreshCmd = &command{name: "refresh", run: runRefresh, usage: `usage: ferry refresh --keys KEYS --origin ORIGIN [--channel stable] [--lifetime 168h]

Re-sign the channel's current pointer with a new expiry, --lifetime from now
(never past the release manifest's expiry): same release, sequence and
rollout. Channel pointers expire after 7 days (ferry release
--pointer-lifetime), so that an origin cannot hold devices on an old
release for long; run this daily between releases, e.g. from cron:

  17 3 * * *  ferry refresh --keys /etc/ferry/refresh-keys --origin /srv/ferry/origin

It signs with the refresh keys of KEYS (made by "ferry keys add-refresh";
they may sign channel pointers only), or with its signing keys if it has
none. Agents released before versioned signing-key lists refuse a pointer
signed by a refresh key alone: until they are upgraded, refresh with a
folder holding the signing key. The pointer on the origin must verify
through KEYS (it may have expired): a pointer written by someone else is
refused. A device that was
offline for longer than the lifetime refuses the expired pointer it finds
until this has run; it never installs from an expired pointer.

With --github OWNER/REPO --tag TAG, the new pointer then replaces the one on
the GitHub release TAG, the release of the channel's current version.

flags:
  --keys KEYS        the key folder: root.pub, the signing-key lists and a refresh or signing key (required)
  --origin ORIGIN    the origin folder (required)
  --channel C        the channel (default stable)
  --lifetime D       how long devices accept the new pointer (default 168h, 7 days)
  --github O/R       also update the GitHub release of this repository
  --tag TAG          the GitHub release to update (with --github)
  --token-file F     a file holding a GitHub token allowed to write contents
  --github-api URL   the GitHub API (default https://api.github.com)
`}

func runRefresh(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("refresh", flag.ContinueOnError)
	keyDir := fs.String("keys", "", "")
	origin := fs.String("origin", "", "")
	channel := fs.String("channel", "stable", "")
	lifetime := fs.Duration("lifetime", publish.DefaultPointerLifetime, "")
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
	if *lifetime <= 0 {
		return fmt.Errorf("%w: --lifetime %v must be positive", errUsage, *lifetime)
	}
	now := time.Now()
	ring, err := keys.Load(*keyDir, now)
	if err != nil {
		return err
	}
	p, err := publish.Refresh(ctx, *origin, *channel, ring, *lifetime, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "channel %s: version %s (sequence %d) valid until %s, signed by %v\n",
		p.Channel, p.Version, p.Sequence, p.Expires.Format(time.RFC3339), ring.RefreshNames())
	return gh.upload(ctx, e, *origin, *channel)
}
