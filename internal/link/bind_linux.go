package link

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

func bindToDevice(c syscall.RawConn, iface string) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
	}); err != nil {
		return fmt.Errorf("link: bind to interface %q: %w", iface, err)
	}
	if serr != nil {
		return fmt.Errorf("link: bind to interface %q (SO_BINDTODEVICE needs root or CAP_NET_RAW): %w", iface, serr)
	}
	return nil
}
