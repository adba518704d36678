//go:build !linux

package link

import (
	"fmt"
	"syscall"
)

func bindToDevice(_ syscall.RawConn, iface string) error {
	return fmt.Errorf("link: binding to interface %q is only supported on Linux", iface)
}
