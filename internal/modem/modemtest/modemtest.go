// Package modemtest is a modem (or LoRa module) that answers AT commands
// over a pseudo-terminal, for tests: the code under test opens Path() as a
// serial port with Open, as it would /dev/ttyUSB2. Answers are
// scripted per command; an answer may be slow, garbage, or never come, and
// Send writes unsolicited lines (a LoRa downlink, a +CREG change).
package modemtest

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Answer is the modem's reply to one command.
type Answer struct {
	Lines []string      // lines sent, each followed by "\r\n"; the final "OK" or "ERROR" included
	Delay time.Duration // before the first byte
	Raw   []byte        // sent as is after Lines (garbage, a cut line)
}

// Modem is the emulator.
type Modem struct {
	ptmx, tty *os.File
	mu        sync.Mutex
	answers   map[string]Answer
	got       []string
	done      chan struct{}
}

// Start starts a modem that answers with answers (command, like "AT+CSQ",
// to answer); an unknown command is answered "ERROR". It stops with the test.
func Start(t testing.TB, answers map[string]Answer) *Modem {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine (the modem tests need /dev/ptmx): %v", err)
	}
	m := &Modem{ptmx: ptmx, tty: tty, answers: answers, done: make(chan struct{})}
	go m.serve()
	t.Cleanup(m.Close)
	return m
}

// Path is the serial port to open.
func (m *Modem) Path() string { return m.tty.Name() }

// Set changes the answer to cmd.
func (m *Modem) Set(cmd string, a Answer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answers[cmd] = a
}

// Commands returns the commands received so far.
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

// Send writes an unsolicited line.
func (m *Modem) Send(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ptmx.Write([]byte("\r\n" + line + "\r\n"))
}

// Close stops the modem.
func (m *Modem) Close() {
	select {
	case <-m.done:
		return
	default:
	}
	close(m.done)
	m.ptmx.Close()
	m.tty.Close()
}

func (m *Modem) serve() {
	buf := make([]byte, 512)
	var line []byte
	for {
		n, err := m.ptmx.Read(buf)
		if err != nil {
			return
		}
		line = append(line, buf[:n]...)
		for {
			i := bytes.IndexAny(line, "\r\n")
			if i < 0 {
				break
			}
			cmd := string(bytes.TrimSpace(line[:i]))
			line = line[i+1:]
			if cmd != "" {
				go m.answer(cmd)
			}
		}
	}
}

func (m *Modem) answer(cmd string) {
	m.mu.Lock()
	m.got = append(m.got, cmd)
	a, ok := m.answers[cmd]
	m.mu.Unlock()
	if !ok {
		a = Answer{Lines: []string{"ERROR"}}
	}
	select {
	case <-time.After(a.Delay):
	case <-m.done:
		return
	}
	var b bytes.Buffer
	for _, l := range a.Lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	b.Write(a.Raw)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ptmx.Write(b.Bytes())
}

// Registered is the script of a modem registered at home with CSQ 17.
func Registered() map[string]Answer {
	return map[string]Answer{
		"AT+CEREG?": {Lines: []string{"+CEREG: 0,1", "OK"}},
		"AT+CREG?":  {Lines: []string{"+CREG: 0,1", "OK"}},
		"AT+CSQ":    {Lines: []string{"+CSQ: 17,99", "OK"}},
		"AT+COPS?":  {Lines: []string{`+COPS: 0,0,"Ferry Mobile",7`, "OK"}},
	}
}
