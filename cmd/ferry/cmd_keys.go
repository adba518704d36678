package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
)

var keysCmd = &command{name: "keys", run: runKeys, usage: `usage: ferry keys rotate --keys KEYS [--retire NAME] [--expires 17520h]

Rotate signing keys: create the next signing key (signing-N.key) and write a
new signing-keys.note listing it and the keys of the current one, signed by
the root keys in KEYS (at least the threshold of them must be present).
--retire drops a key by name, e.g. ferry-signing-1: what it signed is no
longer trusted once the new list is on the origin. Devices need no change.
The next "ferry release" or "ferry rollout" copies the list to the origin.

flags:
  --keys KEYS        the key folder (required)
  --retire NAME      a signing key to drop from the list
  --expires D        lifetime of the new signing-keys.note (default 17520h, two years)
`}

func runKeys(_ context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: want \"ferry keys rotate\"", errUsage)
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	dir := fs.String("keys", "", "")
	retire := fs.String("retire", "", "")
	expires := fs.Duration("expires", keys.DefaultBundleLifetime, "")
	if err := noArgs(parseFlags(fs, args[1:])); err != nil {
		return err
	}
	if err := required(map[string]string{"keys": *dir}); err != nil {
		return err
	}
	if *expires <= 0 {
		return fmt.Errorf("%w: --expires %v must be positive", errUsage, *expires)
	}
	name, err := keys.Rotate(*dir, keys.RotateOptions{Retire: *retire, Expires: time.Now().Add(*expires)})
	if err != nil {
		return err
	}
	r, err := keys.Load(*dir, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "new signing key %s; signing with %v\n", name, r.SignerNames())
	return nil
}
