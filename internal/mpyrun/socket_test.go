package mpyrun

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"testing"
)

// listen starts a TCP server on 127.0.0.1 that runs serve for each
// connection until the test ends.
func listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go serve(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// echoLines writes back each line it reads, and closes on "quit".
func echoLines(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		l, err := r.ReadBytes('\n')
		if err != nil || string(l) == "quit\n" {
			return
		}
		if _, err := c.Write(l); err != nil {
			return
		}
	}
}

// TestSocketBridge runs micropython/tests/sock_bridge.py: MicroPython's
// socket API over the runner's bridge against Go servers: echo of small and
// large data, readinto a memoryview, ETIMEDOUT from a silent server, EAGAIN
// when non-blocking, ECONNREFUSED, EOF, EBADF after close.
func TestSocketBridge(t *testing.T) {
	r := Need(t)
	echo := listen(t, echoLines)
	silent := listen(t, func(net.Conn) {})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	file := filepath.Join(r.Root, "micropython", "tests", "sock_bridge.py")
	res := r.Exec(t, 0, file, fmt.Sprint(echo), fmt.Sprint(silent), fmt.Sprint(closed))
	if res.Code != 0 || res.Stdout != "sock_bridge ok\n" {
		t.Fatalf("sock_bridge.py: %s", res)
	}
}
