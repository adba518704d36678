//go:build unix

package mpyrun

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// stalledPort returns a 127.0.0.1 port where a connect hangs: a listener
// with a backlog of 0 whose queue one unaccepted connection fills, so the
// kernel drops further SYNs. -1 where the kernel answers anyway.
func stalledPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 4; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return sa.(*syscall.SockaddrInet4).Port // the queue is full: connects hang
		}
		t.Cleanup(func() { c.Close() })
	}
	return -1
}
