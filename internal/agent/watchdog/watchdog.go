// Package watchdog keeps the device's watchdogs fed: systemd's (WATCHDOG=1,
// package sdnotify) and, on boards without systemd, the kernel's
// /dev/watchdog.
//
// The dog must be fed during long downloads, hashing and swaps, not only
// between them, so feeding is not a step of the update loop: a Keeper runs
// its own goroutine with its own ticker and feeds every Feeder each interval,
// whatever the rest of the agent is doing. It never waits on other work, and
// each feed is bounded (sdnotify sends with a deadline; a device write is
// one byte).
//
// A watchdog that is fed no matter what catches only a dead process, not a
// hung one. So the Keeper also takes a StallLimit: work calls Kick as it makes
// progress (a chunk downloaded, a file hashed; Kick costs one atomic store and
// never blocks), and when nothing has kicked for StallLimit the Keeper stops
// feeding, and the watchdog restarts or reboots the device. StallLimit 0
// feeds unconditionally.
//
// /dev/watchdog: Open opens the device, which arms it; SetTimeout sets the
// timeout with the WDIOC_SETTIMEOUT ioctl (golang.org/x/sys/unix), in whole
// seconds rounded up; each Feed writes one byte; Close writes the magic 'V'
// first so the driver disarms (unless the kernel was built with
// nowayout). A crash never writes 'V', so the dog reboots a device whose
// agent died. Feed the device at most every half of its timeout.
package watchdog

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrDevice wraps failures to open, feed or close the watchdog device.
	ErrDevice = errors.New("watchdog: device")
	// ErrTimeout means the device refused the timeout; it keeps its own.
	ErrTimeout = errors.New("watchdog: cannot set timeout")
)

// Feeder is a watchdog that must be fed regularly. *Device and
// *sdnotify.Notifier are Feeders.
type Feeder interface {
	Feed() error
}

// Device is an open kernel watchdog device, armed while open.
type Device struct {
	f *os.File
}

var _ Feeder = (*Device)(nil)

// Open opens and thereby arms the watchdog device at path.
func Open(path string) (*Device, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDevice, err)
	}
	return &Device{f: f}, nil
}

// SetTimeout asks the driver to reboot after d without a feed. On error the
// device stays armed with the driver's own timeout.
func (d *Device) SetTimeout(timeout time.Duration) error {
	secs := int((timeout + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	if err := unix.IoctlSetPointerInt(int(d.f.Fd()), unix.WDIOC_SETTIMEOUT, secs); err != nil {
		return fmt.Errorf("%w: %d s on %q: %w", ErrTimeout, secs, d.f.Name(), err)
	}
	return nil
}

// Feed writes one keep-alive byte.
func (d *Device) Feed() error {
	if _, err := d.f.Write([]byte{'.'}); err != nil {
		return fmt.Errorf("%w: feed %q: %w", ErrDevice, d.f.Name(), err)
	}
	return nil
}

// Close writes the magic 'V' and closes the device, disarming it. Call it
// only on a clean exit.
func (d *Device) Close() error {
	_, werr := d.f.Write([]byte{'V'})
	cerr := d.f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("%w: magic close %q: %w", ErrDevice, d.f.Name(), err)
	}
	return nil
}
