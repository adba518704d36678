package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/ferry-ota/ferry/internal/update"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// agent is everything a command needs, built from the config file.
type agent struct {
	cfg *config.Config
	in  *install.Installer
	log *slog.Logger
}

func loadAgent(c *commonFlags) (*agent, error) {
	cfg, err := config.Load(c.config)
	if err != nil {
		return nil, err
	}
	log := logger(c)
	for _, dir := range []string{cfg.Target, cfg.State} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := sameFilesystem(cfg.Target, cfg.State); err != nil {
		return nil, err
	}
	lim := limits(cfg)
	in := &install.Installer{FS: vfs.OS{}, Target: cfg.Target, State: cfg.State, Allow: cfg.Allowed,
		Decode: update.DecodeStored(lim), Log: log}
	return &agent{cfg: cfg, in: in, log: log}, nil
}

func limits(cfg *config.Config) manifest.Limits {
	return manifest.Limits{MaxFiles: cfg.MaxFiles, MaxFileSize: cfg.MaxFileMB << 20, MaxTotalSize: cfg.MaxTotalMB << 20}
}

// updateOptions builds the options of one update cycle.
func (a *agent) updateOptions() (update.Options, error) {
	cfg := a.cfg
	roots, err := loadRoots(cfg)
	if err != nil {
		return update.Options{}, err
	}
	retry := origin.PolicyFromConfig(cfg)
	retry.Logger = a.log
	src, err := a.source(retry)
	if err != nil {
		return update.Options{}, err
	}
	return update.Options{Source: src, Installer: a.in, Roots: roots, Channel: cfg.Channel, Limits: limits(cfg),
		MaxManifestSize: cfg.MaxManifestKB << 10, Retry: retry, Log: a.log}, nil
}

func (a *agent) source(retry origin.RetryPolicy) (origin.Source, error) {
	cfg := a.cfg
	if !strings.Contains(cfg.Origin, "://") {
		return origin.NewDir(cfg.Origin), nil
	}
	u, err := url.Parse(cfg.Origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%s: origin %q: want an http(s):// URL or a folder", a.cfgPath(), cfg.Origin)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	src := origin.NewHTTP(u, origin.HTTPOptions{StallTimeout: time.Duration(cfg.StallSec) * time.Second, Version: version})
	return origin.WithRetry(src, retry), nil
}

func (a *agent) cfgPath() string { return "config" }

func loadRoots(cfg *config.Config) (*trust.Verifiers, error) {
	var all []byte
	for _, p := range cfg.RootKeys {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("root_keys: %w", err)
		}
		all = append(append(all, data...), '\n')
	}
	roots, err := trust.ParseVerifiers(all)
	if err != nil {
		return nil, fmt.Errorf("root_keys %v: %w", cfg.RootKeys, err)
	}
	roots.Threshold = cfg.RootThreshold
	return roots, nil
}

// hint tells the operator what to do about an error.
func hint(err error) string {
	var h string
	switch {
	case errors.Is(err, config.ErrInvalid):
		h = "fix the config file"
	case errors.Is(err, trust.ErrUntrusted), errors.Is(err, trust.ErrBadSignature):
		h = "the origin's files are not signed by keys your root_keys trust: check root_keys is the publisher's root.pub, or suspect tampering"
	case errors.Is(err, trust.ErrExpired), errors.Is(err, update.ErrFrozen):
		h = "the origin serves expired metadata: the publisher must publish or re-sign; check the device clock"
	case errors.Is(err, update.ErrRollback):
		h = "the origin offers an older release than installed: nothing was changed; publish a newer release"
	case errors.Is(err, install.ErrChecksum), errors.Is(err, update.ErrMismatch):
		h = "downloaded data does not match the signed manifest: nothing was installed; it will be fetched again next time"
	case errors.Is(err, manifest.ErrTooLarge), errors.Is(err, origin.ErrTooLarge):
		h = "raise the limit named above in the config if the release is genuine"
	case errors.Is(err, manifest.ErrPath), errors.Is(err, install.ErrUnsafePath):
		h = "the release names an unsafe path: nothing was installed"
	case errors.Is(err, install.ErrConflict):
		h = "move the named file or folder away, then run the update again"
	default:
		return ""
	}
	return "\n  hint: " + h
}
