// Package config reads the agent's TOML configuration file. Parsing is
// strict: an unknown key is an error naming the key and its line, so that a
// typo never silently turns a safety feature off. Relative paths are relative
// to the directory of the config file.
//
// The file is read by a small reader of the TOML the config needs (toml.go:
// comments, keys, [tables], [[arrays of tables]], one-line strings,
// integers, floats, booleans, arrays), not a general TOML library, which
// takes about 330 KB of the agent on MIPS; TOML it does not read (inline
// tables, multi-line strings, dates) is an error naming the line.
// FuzzDecodeLikeTOML and FuzzDecodeShapesLikeTOML check it against a full
// TOML library on every file both accept.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrInvalid wraps every configuration error.
var ErrInvalid = errors.New("config: invalid")

// Config is the agent's configuration. The toml tags are the keys users write:
// they are a contract with users' files and are never renamed.
type Config struct {
	Origin        string   `toml:"origin"`  // http(s) URL or a local folder
	Channel       string   `toml:"channel"` // default "stable"
	Target        string   `toml:"target"`
	State         string   `toml:"state"`
	RootKeys      []string `toml:"root_keys"`
	RootThreshold int      `toml:"root_threshold"` // signatures required on the signing-key list; root.pub's "# threshold T" is a floor
	Allow         []string `toml:"allow"`          // optional path filters: "file" or "dir/"
	Layout        string   `toml:"layout"`         // "inplace" (default) or "slots"

	HTTPRetries   int `toml:"http_retries"`    // default 3
	BackoffSec    int `toml:"backoff_sec"`     // default 2
	MaxBackoffSec int `toml:"max_backoff_sec"` // default 60
	StallSec      int `toml:"stall_sec"`       // cut a transfer with no bytes for this long; default 30

	MaxFiles      int   `toml:"max_files"`       // default 100000
	MaxFileMB     int64 `toml:"max_file_mb"`     // default 4096
	MaxTotalMB    int64 `toml:"max_total_mb"`    // default 16384
	MaxManifestKB int64 `toml:"max_manifest_kb"` // default 32768

	ReportURL   string `toml:"report_url"`   // the fleet service's POST URL for reports; "" sends none
	EnrollToken string `toml:"enroll_token"` // the fleet's enrollment token (`ferry fleet token`)

	GitHub *GitHub `toml:"github"`
	Daemon
	Links
}

// GitHub is the [github] section: a GitHub repository as the origin.
type GitHub struct {
	Owner         string `toml:"owner"`
	Repo          string `toml:"repo"`
	Channel       string `toml:"channel"` // "stable" or "developer"
	Branch        string `toml:"branch"`
	Subdir        string `toml:"subdir"`
	TokenFile     string `toml:"token_file"`
	APIURL        string `toml:"api_url"`
	RawURL        string `toml:"raw_url"`
	AllowUnsigned bool   `toml:"allow_unsigned"`
	MaxTreeKB     int64  `toml:"max_tree_kb"`
	MaxTreeFiles  int    `toml:"max_tree_files"`
}

// Daemon holds the keys of `ferry-agent run`: scheduling, gating, health,
// watchdog and LED.
type Daemon struct {
	CheckIntervalSec      int    `toml:"check_interval_sec"`
	MinUpdateIntervalSec  int    `toml:"min_update_interval_sec"`
	UpdateWindowStartHour *int   `toml:"update_window_start_hour"`
	UpdateWindowEndHour   *int   `toml:"update_window_end_hour"`
	MinBatteryPercent     int    `toml:"min_battery_percent"`
	BatteryPath           string `toml:"battery_path"`
	BatteryCommand        string `toml:"battery_command"`
	PowerSource           string `toml:"power_source"`
	SolarWindowStartHour  *int   `toml:"solar_window_start_hour"`
	SolarWindowEndHour    *int   `toml:"solar_window_end_hour"`
	MaxCrashesBeforeDelay int    `toml:"max_crashes_before_delay"`
	CrashDelaySec         int    `toml:"crash_delay_sec"`
	DeviceID              string `toml:"device_id"`
	ErrorHistoryLimit     int    `toml:"error_history_limit"`
	WatchdogDevice        string `toml:"watchdog_device"`
	WatchdogTimeoutMS     int    `toml:"watchdog_timeout_ms"`
	LED                   string `toml:"led"`
	PreInstall            string `toml:"pre_install"`
	PostInstall           string `toml:"post_install"`
	RestartCommand        string `toml:"restart_command"`
	HealthCommand         string `toml:"health_command"`
	HealthFile            string `toml:"health_file"`
	HealthTimeoutSec      int    `toml:"health_timeout_sec"`
	MaxTrialBoots         int    `toml:"max_trial_boots"`
}

// Load reads and checks the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses config text; relative paths are resolved against dir.
func Parse(data []byte, dir string) (*Config, error) {
	c := defaultConfig()
	if err := decode(data, &c); err != nil {
		var te *tomlError
		if errors.As(err, &te) && te.Unknown {
			return nil, fmt.Errorf("%w: unknown key %q (line %d): check the spelling against the README", ErrInvalid, te.Key, te.Line)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c.githubDefaults()
	c.linkDefaults()
	c.resolve(dir)
	if err := c.check(); err != nil {
		return &c, err
	}
	return &c, c.checkLinks(data)
}

// defaultConfig returns the defaults; the file's values are decoded over
// them, so that an explicit 0 (http_retries = 0: no retries) is kept.
func defaultConfig() Config {
	return Config{
		Channel: "stable", RootThreshold: 1, Layout: "inplace",
		HTTPRetries: 3, BackoffSec: 2, MaxBackoffSec: 60, StallSec: 30,
		MaxFiles: 100_000, MaxFileMB: 4096, MaxTotalMB: 16384, MaxManifestKB: 32768,
		Daemon: Daemon{CheckIntervalSec: 3600, ErrorHistoryLimit: 200, HealthTimeoutSec: 60, MaxTrialBoots: 3,
			CrashDelaySec: 3600, MaxCrashesBeforeDelay: 3, WatchdogTimeoutMS: 10000},
	}
}

func (c *Config) githubDefaults() {
	if g := c.GitHub; g != nil {
		setDefault(&g.Channel, "stable")
		setDefault(&g.Branch, "main")
		setDefault(&g.APIURL, "https://api.github.com")
		setDefault(&g.RawURL, "https://raw.githubusercontent.com")
		setDefault(&g.MaxTreeKB, 8192)
		setDefault(&g.MaxTreeFiles, 20000)
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Target)
	abs(&c.State)
	if c.Origin != "" && !strings.Contains(c.Origin, "://") {
		abs(&c.Origin)
	}
	for i := range c.RootKeys {
		abs(&c.RootKeys[i])
	}
	if c.GitHub != nil {
		abs(&c.GitHub.TokenFile)
	}
	abs(&c.HealthFile)
}

func (c *Config) check() error {
	bad := func(key, why string) error { return fmt.Errorf("%w: %s: %s", ErrInvalid, key, why) }
	switch {
	case c.Origin == "" && c.GitHub == nil:
		return bad("origin", "missing: set origin = \"http://host/path/\" or a folder, or a [github] section")
	case c.Origin != "" && c.GitHub != nil:
		return bad("origin", "set either origin or [github], not both")
	case c.Target == "":
		return bad("target", "missing: the folder of the managed application files")
	case c.State == "":
		return bad("state", "missing: a folder for Ferry's journal and records, on the target's filesystem")
	case len(c.RootKeys) == 0 && !(c.GitHub != nil && c.GitHub.AllowUnsigned):
		return bad("root_keys", "missing: the pinned root.pub made by `ferry keygen`")
	case c.RootThreshold < 1:
		return bad("root_threshold", "must be at least 1")
	case c.HTTPRetries < 0 || c.BackoffSec < 0 || c.MaxBackoffSec < c.BackoffSec:
		return bad("http_retries/backoff_sec/max_backoff_sec", "must be >= 0 with max_backoff_sec >= backoff_sec")
	case c.Layout != "inplace" && c.Layout != "slots":
		return bad("layout", fmt.Sprintf("%q: want \"inplace\" (the default) or \"slots\"", c.Layout))
	case c.ReportURL != "" && !strings.HasPrefix(c.ReportURL, "http://") && !strings.HasPrefix(c.ReportURL, "https://"):
		return bad("report_url", fmt.Sprintf("%q: want the fleet service's URL, like \"https://fleet.example.com/v1/reports\"", c.ReportURL))
	case c.EnrollToken != "" && c.ReportURL == "":
		return bad("enroll_token", "set report_url too: the token enrolls the device with that fleet service")
	}
	rel, err := filepath.Rel(c.Target, c.State)
	inside := err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
	if inside && c.Layout == "slots" {
		return bad("state", fmt.Sprintf("%q is inside target %q: the slots layout needs it outside (a slot must not hold it)", c.State, c.Target))
	}
	if inside && !strings.HasPrefix(rel, ".ferry") {
		return bad("state", fmt.Sprintf("%q is inside target %q: use a folder outside it, or one named .ferry… inside it", c.State, c.Target))
	}
	for _, a := range c.Allow {
		if a == "" || strings.HasPrefix(a, "/") || strings.Contains(a, "..") {
			return bad("allow", fmt.Sprintf("entry %q: want a relative path like \"main.py\" or \"lib/\"", a))
		}
	}
	if g := c.GitHub; g != nil {
		if g.Owner == "" || g.Repo == "" {
			return bad("github", "owner and repo are required")
		}
		if g.Channel != "stable" && g.Channel != "developer" {
			return bad("github.channel", fmt.Sprintf("%q: want \"stable\" or \"developer\"", g.Channel))
		}
		if g.Channel == "developer" && !g.AllowUnsigned {
			return bad("github.channel", "the developer channel is unsigned: set allow_unsigned = true in [github] to accept it")
		}
	}
	return nil
}

// Allowed reports whether path p is managed under the allow filters: every
// path when Allow is empty, else p equals an entry or lies under an entry
// that ends with "/".
func (c *Config) Allowed(p string) bool {
	if len(c.Allow) == 0 {
		return true
	}
	for _, a := range c.Allow {
		if p == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(p, a)) {
			return true
		}
	}
	return false
}
