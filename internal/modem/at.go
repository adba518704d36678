package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Errors a caller branches on.
var (
	// ErrTimeout: the modem did not finish its answer in time.
	ErrTimeout = errors.New("modem: no answer in time")
	// ErrCommand: the modem answered ERROR or +CME ERROR.
	ErrCommand = errors.New("modem: command failed")
	// ErrNoCarrier: the modem answered NO CARRIER.
	ErrNoCarrier = errors.New("modem: no carrier")
	// ErrClosed: the port was closed or failed.
	ErrClosed = errors.New("modem: port closed")
	// ErrNotRegistered: the modem is not registered on a network.
	ErrNotRegistered = errors.New("modem: not registered")
	// ErrBaud: the port cannot be set to the configured baud rate.
	ErrBaud = errors.New("modem: unsupported baud rate")
)

// maxLine caps one line of the modem's answer; the rest is dropped.
const maxLine = 1024

// Conn sends AT commands and reads their answers. One command runs at a
// time; lines that arrive between commands (unsolicited result codes) are
// dropped before the next.
type Conn struct {
	rw    io.ReadWriteCloser
	mu    sync.Mutex
	lines chan string
	done  chan struct{}
	once  sync.Once
	err   error // why the reader stopped; read after lines is closed
}

// NewConn starts reading rw. A Read that returns 0 bytes and no error (a
// serial port's read timeout) is a tick, not an end.
func NewConn(rw io.ReadWriteCloser) *Conn {
	c := &Conn{rw: rw, lines: make(chan string, 64), done: make(chan struct{})}
	go c.read()
	return c
}

func (c *Conn) read() {
	defer close(c.lines)
	buf := make([]byte, 256)
	var line []byte
	for {
		n, err := c.rw.Read(buf)
		for _, b := range buf[:n] {
			if b == '\r' || b == '\n' {
				if s := strings.TrimSpace(string(line)); s != "" && !c.send(s) {
					return
				}
				line = line[:0]
			} else if len(line) < maxLine {
				line = append(line, b)
			}
		}
		if err != nil {
			c.err = err
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

func (c *Conn) send(s string) bool {
	select {
	case c.lines <- s:
		return true
	case <-c.done:
		return false
	}
}

// Close closes the port and stops the reader.
func (c *Conn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.rw.Close()
}

// Command sends cmd ("AT+CSQ") and returns the lines of its answer before
// the final OK, within timeout.
func (c *Conn) Command(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drain()
	if _, err := io.WriteString(c.rw, cmd+"\r"); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrClosed, cmd, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var got []string
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return got, fmt.Errorf("%w: %s: %v", ErrClosed, cmd, c.err)
			}
			done, err := final(cmd, l)
			if done {
				return got, err
			}
			if l != cmd { // not the echo
				got = append(got, l)
			}
		case <-t.C:
			return got, fmt.Errorf("%w: %s: nothing final after %s (got %q)", ErrTimeout, cmd, timeout, strings.Join(got, "|"))
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}

// final reports whether l ends an answer, and with which error.
func final(cmd, l string) (bool, error) {
	switch {
	case l == "OK":
		return true, nil
	case l == "ERROR", strings.HasPrefix(l, "+CME ERROR:"), strings.HasPrefix(l, "+CMS ERROR:"):
		return true, fmt.Errorf("%w: %s: %s", ErrCommand, cmd, l)
	case l == "NO CARRIER":
		return true, fmt.Errorf("%w: %s", ErrNoCarrier, cmd)
	}
	return false, nil
}

// drain drops what arrived since the last command.
func (c *Conn) drain() {
	for {
		select {
		case _, ok := <-c.lines:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// Next returns the next line the module sends on its own (a LoRa
// downlink, an unsolicited result code). It must not run at the same time
// as Command.
func (c *Conn) Next(ctx context.Context) (string, error) {
	select {
	case l, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("%w: %v", ErrClosed, c.err)
		}
		return l, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
