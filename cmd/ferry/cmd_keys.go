package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
)

var keysCmd = &command{name: "keys", run: runKeys, usage: `usage: ferry keys rotate --keys KEYS [--retire NAME] [--expires 17520h]
       ferry keys add-refresh --keys KEYS [--retire NAME] [--expires 17520h]
       ferry keys add-rollout --keys KEYS --channel C [--retire NAME] [--expires 17520h]

Change the signing-key list, signed by the root keys in KEYS (at least the
threshold of them must be present). Every change writes the list at the
next version (signing-keys-2.note, and signing-keys.note for agents made
before versioned lists). A device refuses a list older than the newest it
has verified, so a key retired here stays retired even if an origin serves
an old list. Devices need no change. The next "ferry release", "ferry
rollout" or "ferry refresh" copies the list to the origin.

rotate creates the next signing key (signing-N.key, named ferry-signing-N),
which signs releases and channel pointers.

add-refresh creates the next refresh key (refresh-N.key, named
ferry-refresh-N), which signs channel pointers only: put it, root.pub and
both signing-keys*.note files (no signing-*.key, no root-*.key) on the
machine that runs "ferry refresh" from cron, so that the signing key need
not be online.

add-rollout creates the next rollout key of channel C
(rollout-C-N.key, named ferry-rollout-C-N, role rollout:C), which signs
that channel's rollout documents only (stage and halt): put it, root.pub
and signing-keys-2.note on the machine that runs "ferry fleet serve
--origin DIR --rollout-keys FOLDER". It cannot sign a release or a
channel pointer.

--retire drops a key by name, e.g. ferry-signing-1 or ferry-refresh-1: what
it signed is no longer trusted once the new list is on the origin.

flags:
  --keys KEYS        the key folder (required)
  --retire NAME      a key to drop from the list
  --channel C        the channel of the rollout key (add-rollout only)
  --expires D        lifetime of the new list (default 17520h, two years)
`}

func runKeys(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	channel := fs.String("channel", "", "")
	add := map[string]func(string, keys.RotateOptions) (string, error){"rotate": keys.Rotate, "add-refresh": keys.AddRefresh,
		"add-rollout": func(dir string, o keys.RotateOptions) (string, error) { return keys.AddRollout(dir, *channel, o) }}
	if len(args) == 0 || add[args[0]] == nil {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: want \"ferry keys rotate\", \"ferry keys add-refresh\" or \"ferry keys add-rollout\"", errUsage)
	}
	dir := fs.String("keys", "", "")
	retire := fs.String("retire", "", "")
	expires := fs.Duration("expires", keys.DefaultBundleLifetime, "")
	if err := noArgs(parseFlags(fs, args[1:])); err != nil {
		return err
	}
	if err := required(map[string]string{"keys": *dir}); err != nil {
		return err
	}
	if (args[0] == "add-rollout") != (*channel != "") {
		return fmt.Errorf("%w: --channel is required with add-rollout, and only there", errUsage)
	}
	if *expires <= 0 {
		return fmt.Errorf("%w: --expires %v must be positive", errUsage, *expires)
	}
	name, err := add[args[0]](*dir, keys.RotateOptions{Retire: *retire, Expires: time.Now().Add(*expires)})
	if err != nil {
		return err
	}
	r, err := keys.Load(*dir, time.Now())
	if err != nil {
		return err
	}
	switch args[0] {
	case "rotate":
		fmt.Fprintf(e.stdout, "new signing key %s; signing with %v; signing-key list version %d\n", name, r.SignerNames(), r.Version)
	case "add-rollout":
		fmt.Fprintf(e.stdout, "new rollout key %s (role rollout:%s); signing-key list version %d\n", name, *channel, r.Version)
	default:
		fmt.Fprintf(e.stdout, "new refresh key %s; refreshing with %v; signing-key list version %d\n", name, r.RefreshNames(), r.Version)
	}
	return nil
}
