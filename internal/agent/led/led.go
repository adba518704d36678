// Package led shows the agent's state on a status LED through the Linux LED
// class: /sys/class/leds/<name>/brightness.
//
// Each State has its own blink pattern, told apart by eye without a manual:
//
//	Idle         a 100 ms blip every 5 s         (alive, nothing to do)
//	Checking     slow blink, 500 ms on / 500 ms off
//	Downloading  fast blink, 100 ms on / 100 ms off
//	Installing   steady on                        (do not cut the power)
//	Error        three short blips, then a pause (a code, repeating)
//	Success      two long pulses, then a pause
//
// A goroutine (Run) drives the pattern with its own timer. Set only stores
// the new state and pokes the goroutine through a one-slot channel, so it
// never blocks, and a slow or failing sysfs write never holds up the update
// or the watchdog. A nil *LED accepts Set and does nothing, for devices
// without an LED. "on" writes the LED's max_brightness (1 when unreadable).
package led

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
)

// ErrLED wraps failures to find or drive the LED.
var ErrLED = errors.New("led")

// SysfsDir is the LED class folder.
const SysfsDir = "/sys/class/leds"

// State is what the agent is doing.
type State int32

// The states, each with its own pattern.
const (
	Idle State = iota
	Checking
	Downloading
	Installing
	Error
	Success
)

var names = [...]string{"idle", "checking", "downloading", "installing", "error", "success"}

// String returns the state's name.
func (s State) String() string {
	if s < 0 || int(s) >= len(names) {
		return "state(" + strconv.Itoa(int(s)) + ")"
	}
	return names[s]
}

// Step is one part of a pattern: the LED on or off for D; D == 0 holds it
// until the state changes.
type Step struct {
	On bool
	D  time.Duration
}

const ms = time.Millisecond

// Patterns maps each State to its repeating steps.
var Patterns = map[State][]Step{
	Idle:        {{true, 100 * ms}, {false, 4900 * ms}},
	Checking:    {{true, 500 * ms}, {false, 500 * ms}},
	Downloading: {{true, 100 * ms}, {false, 100 * ms}},
	Installing:  {{true, 0}},
	Error:       {{true, 150 * ms}, {false, 150 * ms}, {true, 150 * ms}, {false, 150 * ms}, {true, 150 * ms}, {false, 1500 * ms}},
	Success:     {{true, 1000 * ms}, {false, 300 * ms}, {true, 1000 * ms}, {false, 2000 * ms}},
}

// LED drives one LED. Create it with New and start Run in a goroutine.
type LED struct {
	brightness string
	onValue    []byte
	clock      clock.Clock
	log        *slog.Logger
	state      atomic.Int32
	changed    chan struct{}
	write      func(on bool) error // replaced in tests
}

// New returns the LED named name (a folder under SysfsDir), or the LED
// folder itself when name is a path.
func New(name string, clk clock.Clock, logger *slog.Logger) (*LED, error) {
	dir := name
	if !strings.ContainsRune(name, '/') {
		dir = filepath.Join(SysfsDir, name)
	}
	b := filepath.Join(dir, "brightness")
	if _, err := os.Stat(b); err != nil {
		return nil, fmt.Errorf("%w: led %q: %w", ErrLED, name, err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if clk == nil {
		clk = clock.Real{}
	}
	on := "1"
	if m, err := os.ReadFile(filepath.Join(dir, "max_brightness")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(m))); err == nil && n > 0 {
			on = strconv.Itoa(n)
		}
	}
	l := &LED{brightness: b, onValue: []byte(on), clock: clk, log: logger, changed: make(chan struct{}, 1)}
	l.write = l.writeSysfs
	return l, nil
}

// Set switches the pattern to s. It never blocks.
func (l *LED) Set(s State) {
	if l == nil {
		return
	}
	l.state.Store(int32(s))
	select {
	case l.changed <- struct{}{}:
	default: // a change is already pending; Run reads the latest state
	}
}

// State returns the state last Set.
func (l *LED) State() State {
	if l == nil {
		return Idle
	}
	return State(l.state.Load())
}

func (l *LED) writeSysfs(on bool) error {
	v := []byte("0")
	if on {
		v = l.onValue
	}
	return os.WriteFile(l.brightness, v, 0o644)
}
