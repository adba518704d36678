//go:build !linux

package modem

import (
	"errors"
	"io"
)

// openPort is Linux-only: the agent runs on Linux.
func openPort(name string, baud int) (io.ReadWriteCloser, error) {
	return nil, errors.New("serial ports are supported on Linux only")
}
