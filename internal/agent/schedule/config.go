package schedule

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
)

// Config holds the scheduling rules. FromConfig fills it from the agent's
// config file; tests set it directly.
type Config struct {
	StateDir              string
	CheckInterval         time.Duration
	Jitter                float64 // fraction of CheckInterval, 0..0.5; default 0.1
	MinUpdateInterval     time.Duration
	Window                *Window // nil: any hour
	Solar                 bool    // power_source = "solar": SolarWindow replaces Window
	SolarWindow           *Window
	MinBatteryPercent     int
	Battery               Battery       // required when MinBatteryPercent > 0
	BatteryRetry          time.Duration // wait after a low or unreadable battery; default 15m
	MaxCrashesBeforeDelay int
	CrashDelay            time.Duration
	WatchdogStatusGlob    string // default /sys/class/watchdog/*/bootstatus
	BootIDPath            string // default /proc/sys/kernel/random/boot_id
	Rand                  *rand.Rand
	Logger                *slog.Logger
	OnDefer               func(reason string, next time.Time) // optional; called by WaitDue
}

// Defaults for the solar window when power_source = "solar" sets none.
const (
	DefaultSolarStart = 10
	DefaultSolarEnd   = 16
)

// FromConfig maps the agent's config keys to a Config in local time.
func FromConfig(c *config.Config, logger *slog.Logger) (Config, error) {
	d := c.Daemon
	cfg := Config{
		StateDir:              c.State,
		CheckInterval:         seconds(d.CheckIntervalSec),
		MinUpdateInterval:     seconds(d.MinUpdateIntervalSec),
		MinBatteryPercent:     d.MinBatteryPercent,
		MaxCrashesBeforeDelay: d.MaxCrashesBeforeDelay,
		CrashDelay:            seconds(d.CrashDelaySec),
		Logger:                logger,
	}
	var err error
	if cfg.Window, err = NewWindow(d.UpdateWindowStartHour, d.UpdateWindowEndHour, nil); err != nil {
		return cfg, fmt.Errorf("update_window_start_hour/end_hour: %w", err)
	}
	switch d.PowerSource {
	case "", "mains", "battery":
	case "solar":
		cfg.Solar = true
		start, end := DefaultSolarStart, DefaultSolarEnd
		if d.SolarWindowStartHour != nil || d.SolarWindowEndHour != nil {
			cfg.SolarWindow, err = NewWindow(d.SolarWindowStartHour, d.SolarWindowEndHour, nil)
		} else {
			cfg.SolarWindow, err = NewWindow(&start, &end, nil)
		}
		if err != nil {
			return cfg, fmt.Errorf("solar_window_start_hour/end_hour: %w", err)
		}
	default:
		return cfg, fmt.Errorf("%w: power_source %q: want \"mains\", \"battery\" or \"solar\"", ErrConfig, d.PowerSource)
	}
	cfg.Battery = BatteryFromConfig(c)
	return cfg, nil
}

// BatteryFromConfig is the battery reader the config names: battery_command,
// battery_path, or the sysfs power supplies.
func BatteryFromConfig(c *config.Config) Battery {
	switch d := c.Daemon; {
	case d.BatteryCommand != "":
		return CommandBattery{Command: d.BatteryCommand}
	case d.BatteryPath != "":
		return SysfsBattery{Path: d.BatteryPath}
	default:
		return SysfsBattery{Path: "/sys/class/power_supply"}
	}
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func (c *Config) defaults() {
	if c.Jitter == 0 {
		c.Jitter = 0.1
	}
	if c.BatteryRetry == 0 {
		c.BatteryRetry = 15 * time.Minute
	}
	if c.WatchdogStatusGlob == "" {
		c.WatchdogStatusGlob = "/sys/class/watchdog/*/bootstatus"
	}
	if c.BootIDPath == "" {
		c.BootIDPath = "/proc/sys/kernel/random/boot_id"
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

func (c *Config) check() error {
	switch {
	case c.StateDir == "":
		return fmt.Errorf("%w: state folder not set", ErrConfig)
	case c.CheckInterval <= 0:
		return fmt.Errorf("%w: check_interval_sec %v: must be positive", ErrConfig, c.CheckInterval)
	case c.Jitter < 0 || c.Jitter > 0.5:
		return fmt.Errorf("%w: jitter %v: want 0..0.5", ErrConfig, c.Jitter)
	case c.MinBatteryPercent < 0 || c.MinBatteryPercent > 100:
		return fmt.Errorf("%w: min_battery_percent %d: want 0..100", ErrConfig, c.MinBatteryPercent)
	case c.MinBatteryPercent > 0 && c.Battery == nil:
		return fmt.Errorf("%w: min_battery_percent set but no battery_path or battery_command", ErrConfig)
	case c.Solar && c.SolarWindow == nil:
		return fmt.Errorf("%w: power_source \"solar\" needs a solar window", ErrConfig)
	}
	return nil
}
