// Package device builds the agent's parts from its config file: the
// installer over the real filesystem, the origin (HTTP with retries, a
// folder, or GitHub), the pinned root keys and the options of an update
// cycle. Commands (ferry-agent update, run, status, the demo) share it.
package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/flock"
	"github.com/ferry-ota/ferry/internal/github"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/link"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/update"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// Device is an agent's configuration and the installer for its target.
type Device struct {
	Config    *config.Config
	Installer *install.Installer
	Log       *slog.Logger
	Version   string // the agent's version, for the User-Agent
	// Binder binds the HTTP origin's connections (an http(s) origin's or
	// the [github] client's) to the interface of the cycle's link; set by
	// Source and Cycle when the config has [[transport]] links.
	Binder *link.Binder
}

// Open loads the config file at path and prepares the target and state
// folders (creating them if needed, on one filesystem).
func Open(path string, log *slog.Logger, version string) (*Device, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return New(cfg, log, version)
}

// New prepares a device from a parsed config.
func New(cfg *config.Config, log *slog.Logger, version string) (*Device, error) {
	target := cfg.Target
	if cfg.Layout == install.LayoutSlots {
		target = filepath.Dir(cfg.Target) // the link and its slots are made there
	}
	for _, dir := range []string{target, cfg.State} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := sameFilesystem(target, cfg.State); err != nil {
		return nil, err
	}
	lim := Limits(cfg)
	in := &install.Installer{FS: vfs.OS{}, Target: cfg.Target, State: cfg.State, Allow: cfg.Allowed,
		Decode: update.DecodeStored(lim), Limits: lim, Log: log, Layout: cfg.Layout}
	return &Device{Config: cfg, Installer: in, Log: log, Version: version}, nil
}

// lockWait is how long a command waits for another agent process (the
// daemon, or a manual update) to finish with this device.
const lockWait = 2 * time.Second

// Lock takes the device's exclusive lock, <state>/agent.lock: two agent
// processes never run transactions on one target at once. It waits a moment
// for another to finish, then fails with an error wrapping flock.ErrBusy.
func (d *Device) Lock(ctx context.Context) (unlock func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	unlock, err = flock.Lock(ctx, filepath.Join(d.Config.State, "agent.lock"))
	if errors.Is(err, flock.ErrBusy) {
		return nil, fmt.Errorf("%w: another ferry-agent (the daemon, or an update by hand) is working on %s: try again when it is done", err, d.Config.Target)
	}
	return unlock, err
}

// Limits returns the manifest caps of the config.
func Limits(cfg *config.Config) manifest.Limits {
	return manifest.Limits{MaxFiles: cfg.MaxFiles, MaxFileSize: cfg.MaxFileMB << 20, MaxTotalSize: cfg.MaxTotalMB << 20}
}

// UpdateOptions builds the options of one update cycle.
func (d *Device) UpdateOptions() (update.Options, error) {
	cfg := d.Config
	if g := cfg.GitHub; g != nil && g.Channel == github.DevChannel {
		// Unsigned by nature (allow_unsigned): no keys, no origin files; see Cycle.
		return update.Options{Installer: d.Installer, Channel: g.Channel, Limits: Limits(cfg), Log: d.Log}, nil
	}
	roots, err := LoadRoots(cfg)
	if err != nil {
		return update.Options{}, err
	}
	if roots.Threshold > cfg.RootThreshold && d.Log != nil {
		d.Log.Info("root_threshold raised to the threshold root.pub names: a config may raise it, never lower it",
			"root_threshold", cfg.RootThreshold, "threshold", roots.Threshold)
	}
	retry := origin.PolicyFromConfig(cfg)
	retry.Logger = d.Log
	src, err := d.Source(retry)
	if err != nil {
		return update.Options{}, err
	}
	return update.Options{Source: src, Installer: d.Installer, Roots: roots, Channel: cfg.Channel, Limits: Limits(cfg),
		MaxManifestSize: cfg.MaxManifestKB << 10, Retry: retry, Log: d.Log}, nil
}

// Source returns the configured origin.
func (d *Device) Source(retry origin.RetryPolicy) (origin.Source, error) {
	cfg := d.Config
	if cfg.GitHub != nil {
		return d.gitHubSource(retry)
	}
	if !strings.Contains(cfg.Origin, "://") {
		return origin.NewDir(cfg.Origin), nil
	}
	u, err := url.Parse(cfg.Origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: origin %q: want an http(s):// URL or a folder", config.ErrInvalid, cfg.Origin)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	opts := origin.HTTPOptionsFromConfig(cfg, d.Version)
	if len(cfg.Transports) > 0 {
		if d.Binder == nil {
			d.Binder = &link.Binder{}
		}
		opts.Transport = d.Binder.Transport()
	}
	src := origin.NewHTTP(u, opts)
	return origin.WithRetry(src, retry), nil
}

// LoadRoots reads the pinned root keys of the config. Their threshold is
// the larger of root_threshold and the "# threshold T" line `ferry keygen
// --threshold T` wrote into root.pub: the file's is a floor, which a config
// may raise and never lower.
func LoadRoots(cfg *config.Config) (*trust.Verifiers, error) {
	var all []byte
	for _, p := range cfg.RootKeys {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("root_keys: %w", err)
		}
		all = append(append(all, data...), '\n')
	}
	roots, err := trust.ParseRoots(all)
	if err != nil {
		return nil, fmt.Errorf("root_keys %v: %w", cfg.RootKeys, err)
	}
	roots.Threshold = max(roots.Threshold, cfg.RootThreshold)
	return roots, nil
}
