// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)) without cgo or libsystemd: one datagram of newline-separated
// KEY=VALUE assignments to the unix datagram socket named by $NOTIFY_SOCKET.
//
// The agent runs under a unit with Type=notify and WatchdogSec=: it sends
// READY=1 once recovery is done and it is serving, STATUS=… lines that
// `systemctl status` shows, and WATCHDOG=1 keep-alives at half of
// $WATCHDOG_USEC (WatchdogInterval), so systemd restarts it when it hangs.
// A name starting with '@' is a socket in the abstract namespace (Go maps
// the '@' to the leading NUL byte). Without $NOTIFY_SOCKET every call is a
// no-op, so the same binary runs under systemd, under another init, or by
// hand.
//
// Each send has a short write deadline: a stuck systemd must not stall the
// watchdog feeder that calls it.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrNotify wraps failures to send a notification or to read the
// environment.
var ErrNotify = errors.New("sdnotify")

// sendTimeout bounds one datagram write.
const sendTimeout = time.Second

// Notifier sends notifications to one socket. The zero value and a nil
// *Notifier are valid and send nothing.
type Notifier struct {
	socket string
}

// New returns a Notifier for the socket named by getenv("NOTIFY_SOCKET")
// (os.Getenv when getenv is nil), or a no-op Notifier when it is unset.
func New(getenv func(string) string) *Notifier {
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Notifier{socket: getenv("NOTIFY_SOCKET")}
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Notify sends the state string, e.g. "READY=1\nSTATUS=idle".
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	addr := &net.UnixAddr{Name: n.socket, Net: "unixgram"}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("%w: dial %q: %w", ErrNotify, n.socket, err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("%w: %w", ErrNotify, err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("%w: send to %q: %w", ErrNotify, n.socket, err)
	}
	return nil
}

// Ready tells systemd that start-up is finished.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Stopping tells systemd that the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Status sets the one-line status `systemctl status` shows. Newlines in s
// are replaced by spaces: they would start a new assignment.
func (n *Notifier) Status(s string) error {
	return n.Notify("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

// Feed sends WATCHDOG=1. It makes a Notifier a watchdog.Feeder.
func (n *Notifier) Feed() error { return n.Notify("WATCHDOG=1") }

// WatchdogInterval returns half of $WATCHDOG_USEC, the interval at which to
// send WATCHDOG=1, and false when systemd's watchdog is off for this process
// ($WATCHDOG_USEC unset, or $WATCHDOG_PID set to another process).
func WatchdogInterval(getenv func(string) string) (time.Duration, bool, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	usec := getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, false, nil
	}
	if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 {
		return 0, false, fmt.Errorf("%w: WATCHDOG_USEC %q: want a positive number of microseconds", ErrNotify, usec)
	}
	return time.Duration(n) * time.Microsecond / 2, true, nil
}
