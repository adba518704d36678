package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/command"
)

// Battery reports the battery's state of charge.
type Battery interface {
	// Percent returns the charge in percent, 0..100.
	Percent(ctx context.Context) (int, error)
}

// SysfsBattery reads Linux power_supply capacity files. Path is either one
// capacity file, or a folder like /sys/class/power_supply whose */capacity
// files are read; with several batteries the lowest charge counts.
type SysfsBattery struct{ Path string }

// Percent reads the capacity.
func (b SysfsBattery) Percent(context.Context) (int, error) {
	files := []string{b.Path}
	if fi, err := os.Stat(b.Path); err == nil && fi.IsDir() {
		files, _ = filepath.Glob(filepath.Join(b.Path, "*", "capacity"))
		if direct := filepath.Join(b.Path, "capacity"); fileExists(direct) {
			files = append(files, direct)
		}
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("%w: no */capacity file under %q", ErrBattery, b.Path)
	}
	lowest := 101
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrBattery, err)
		}
		p, err := parsePercent(data)
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %w", ErrBattery, f, err)
		}
		lowest = min(lowest, p)
	}
	return lowest, nil
}

// CommandBattery runs a shell command whose output is the charge in percent
// ("87", "87%" or "87.5"; the first word counts).
type CommandBattery struct {
	Command string
	Timeout time.Duration // default 10s
}

// Percent runs the command and parses its output.
func (b CommandBattery) Percent(ctx context.Context) (int, error) {
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	res, err := command.Run(ctx, b.Command, timeout, 256)
	if err != nil {
		return 0, fmt.Errorf("%w: %w (output %q)", ErrBattery, err, res.Output)
	}
	p, err := parsePercent(res.Output)
	if err != nil {
		return 0, fmt.Errorf("%w: battery_command %q: %w", ErrBattery, b.Command, err)
	}
	return p, nil
}

func parsePercent(data []byte) (int, error) {
	fields := strings.Fields(string(bytes.TrimSpace(data)))
	if len(fields) == 0 {
		return 0, errors.New("empty output: want a percentage like \"87\"")
	}
	s := strings.TrimSuffix(fields[0], "%")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= 100) { // also refuses NaN
		return 0, fmt.Errorf("output %q: want a percentage 0..100", fields[0])
	}
	return int(f), nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
