package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/selfupdate"
	"github.com/ferry-ota/ferry/internal/vfs"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/device"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/update"
)

// lockedAgent parses a command's flags, opens the device and takes its
// lock; the caller runs unlock when done.
func lockedAgent(ctx context.Context, name, synopsis string, args []string) (a *device.Device, unlock func(), err error) {
	var c commonFlags
	if err := parseFlags(newFlagSet(name, synopsis, &c), args); err != nil {
		return nil, nil, err
	}
	if a, err = loadAgent(&c); err != nil {
		return nil, nil, err
	}
	if unlock, err = a.Lock(ctx); err != nil {
		return nil, nil, err
	}
	return a, unlock, nil
}

// selfUpdater is the agent's self-update of the running binary, with the
// self-check of a new binary: `NEW version` within selfCheckTimeout.
func selfUpdater(d *device.Device) (*selfupdate.Updater, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return nil, fmt.Errorf("find the running binary: %w", err)
	}
	return &selfupdate.Updater{FS: vfs.OS{}, Exe: exe, State: d.Config.State, Version: version,
		Check: selfupdate.ExecCheck(selfCheckTimeout), Log: d.Log}, nil
}

// selfCheckTimeout is how long a new agent binary has to answer `version`.
const selfCheckTimeout = 30 * time.Second

// loadAgent opens the device the config file describes.
func loadAgent(c *commonFlags) (*device.Device, error) {
	return device.Open(c.config, logger(c), version)
}

// hint tells the operator what to do about an error.
func hint(err error) string {
	var h string
	switch {
	case errors.Is(err, config.ErrInvalid):
		h = "fix the config file"
	case errors.Is(err, trust.ErrUntrusted), errors.Is(err, trust.ErrBadSignature):
		h = "the origin's files are not signed by keys your root_keys trust: check root_keys is the publisher's root.pub, or suspect tampering"
	case errors.Is(err, trust.ErrRollback), errors.Is(err, trust.ErrConflict):
		h = "the origin serves an older signing-key list than this device already verified (a replay, perhaps to revive a retired key): nothing was changed; the publisher must put the newest keys/signing-keys-2.note back"
	case errors.Is(err, trust.ErrExpired), errors.Is(err, update.ErrFrozen):
		h = "the origin serves expired metadata: the publisher must publish or re-sign (ferry refresh); check the device clock"
	case errors.Is(err, update.ErrRollback):
		h = "the origin offers an older release than installed: nothing was changed; publish a newer release"
	case errors.Is(err, install.ErrChecksum), errors.Is(err, update.ErrMismatch):
		h = "downloaded data does not match the signed manifest: nothing was installed; it will be fetched again next time"
	case errors.Is(err, manifest.ErrTooLarge), errors.Is(err, origin.ErrTooLarge):
		h = "raise the limit named above in the config if the release is genuine"
	case errors.Is(err, manifest.ErrPath), errors.Is(err, install.ErrUnsafePath):
		h = "the release names an unsafe path: nothing was installed"
	case errors.Is(err, selfupdate.ErrBroken):
		h = "the release's agent binary did not pass its self-check: the previous agent runs, and that version is not tried again; publish a fixed agent as a newer version"
	case errors.Is(err, install.ErrLayout):
		h = "the target's layout on disk and layout in the config disagree: run ferry-agent convert --layout (see the README's \"Slots layout\"), then set layout in the config to match"
	case errors.Is(err, install.ErrNoPrevious):
		h = "there is no previous release on this device to go back to"
	case errors.Is(err, install.ErrConflict):
		h = "move the named file or folder away, then run the update again"
	default:
		return ""
	}
	return "\n  hint: " + h
}
