package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
)

var keygenCmd = &command{name: "keygen", run: runKeygen, usage: `usage: ferry keygen --out KEYS [--roots N] [--threshold T] [--expires 17520h]

Create a key folder: root keys (root-1.key …, kept offline), root.pub (the
root verifier keys: the one file every device pins, as root_keys), a signing
key (signing-1.key) and the list of signing keys signed by the root keys
(signing-keys-2.note, version 1, and signing-keys.note for agents made
before versioned lists). The threshold is written into root.pub: devices
require at least that many root signatures, whatever their root_threshold.
Secret keys are written with mode 0600. Existing keys are never overwritten.

flags:
  --out KEYS         the key folder to create or fill (required)
  --roots N          number of root keys (default 1)
  --threshold T      root signatures a device requires, its root_threshold (default 1)
  --expires D        lifetime of the signing-key list (default 17520h, two years)
`}

func runKeygen(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	out := fs.String("out", "", "")
	roots := fs.Int("roots", 1, "")
	threshold := fs.Int("threshold", 1, "")
	expires := fs.Duration("expires", keys.DefaultBundleLifetime, "")
	if err := noArgs(parseFlags(fs, args)); err != nil {
		return err
	}
	if err := required(map[string]string{"out": *out}); err != nil {
		return err
	}
	if *expires <= 0 {
		return fmt.Errorf("%w: --expires %v must be positive", errUsage, *expires)
	}
	err := keys.Generate(*out, keys.GenerateOptions{Roots: *roots, Threshold: *threshold, Expires: time.Now().Add(*expires)})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %d root keys (threshold %d) and signing key ferry-signing-1 in %s\n", *roots, *threshold, *out)
	fmt.Fprintf(e.stdout, "pin %s on every device (root_keys, root_threshold = %d); keep root-*.key offline\n",
		filepath.Join(*out, keys.RootPub), *threshold)
	return nil
}

// noArgs refuses positional arguments.
func noArgs(pos []string, err error) error {
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	return nil
}
