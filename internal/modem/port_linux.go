//go:build linux

package modem

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// speeds maps the standard baud rates to their termios constants.
var speeds = map[int]uint32{
	1200: unix.B1200, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
	19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600,
	115200: unix.B115200, 230400: unix.B230400, 460800: unix.B460800,
	921600: unix.B921600,
}

// port is a serial port in raw mode whose reads return after 100 ms with
// nothing (VMIN 0, VTIME 1), so that Conn's reader notices Close.
//
// Ferry drives a modem with open, termios, read, write and close, which
// golang.org/x/sys/unix gives directly. go.bug.st/serial, used before, links
// the regexp package for its port enumeration (a package-level
// MustCompile), 262 KB of the MIPS agent: enough to push the MIPS
// agents over their 8 MiB budget.
type port struct{ fd int }

// openPort opens name as a raw 8N1 serial port at baud.
func openPort(name string, baud int) (io.ReadWriteCloser, error) {
	speed, ok := speeds[baud]
	if !ok {
		return nil, fmt.Errorf("%w: %d (use a standard rate such as 9600 or 115200)", ErrBaud, baud)
	}
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := setRaw(fd, speed); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &port{fd: fd}, nil
}

// setRaw is cfmakeraw(3) with 8 data bits, the receiver on, modem control
// lines ignored, the given speed and reads that wait at most 100 ms.
func setRaw(fd int, speed uint32) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("not a serial port: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | speed
	t.Ispeed, t.Ospeed = speed, speed
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 0, 1
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

func (p *port) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(p.fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func (p *port) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Write(p.fd, b[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

func (p *port) Close() error { return unix.Close(p.fd) }
