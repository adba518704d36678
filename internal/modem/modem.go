package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultTimeout is the deadline of one AT command.
const DefaultTimeout = 3 * time.Second

// Status is what a modem says of its link.
type Status struct {
	Reg      int    // registration state, RegHome…
	RSSI     int    // CSQ 0-31, 99 unknown
	Operator string // "" when unknown
}

// Signal is the signal for status lines: "CSQ 17 (-79 dBm)".
func (s Status) Signal() string {
	if d, ok := DBm(s.RSSI); ok {
		return fmt.Sprintf("CSQ %d (%d dBm)", s.RSSI, d)
	}
	return fmt.Sprintf("CSQ %d (unknown)", s.RSSI)
}

// String is the whole status: "CSQ 17 (-79 dBm), registered (home), Operator".
func (s Status) String() string {
	parts := []string{s.Signal(), RegName(s.Reg)}
	if s.Operator != "" {
		parts = append(parts, s.Operator)
	}
	return strings.Join(parts, ", ")
}

// Open opens a modem's serial port.
func Open(port string, baud int) (*Conn, error) {
	p, err := openPort(port, baud)
	if err != nil {
		return nil, fmt.Errorf("modem: open %s: %w", port, err)
	}
	return NewConn(p), nil
}

// Query asks the modem its registration (LTE's +CEREG first, then +CREG),
// signal and operator. A modem that is not registered is an error wrapping
// ErrNotRegistered, with the status it has.
func Query(ctx context.Context, c *Conn, timeout time.Duration) (Status, error) {
	s := Status{Reg: RegUnknown, RSSI: 99}
	reg, err := registration(ctx, c, timeout)
	if err != nil {
		return s, err
	}
	s.Reg = reg
	lines, err := c.Command(ctx, "AT+CSQ", timeout)
	if err == nil {
		s.RSSI, err = ParseCSQ(lines)
	}
	if err != nil {
		return s, err
	}
	if lines, err := c.Command(ctx, "AT+COPS?", timeout); err == nil {
		s.Operator, _ = ParseCOPS(lines) // the operator's name is a nicety
	}
	if !Registered(s.Reg) {
		return s, fmt.Errorf("%w: %s (%s)", ErrNotRegistered, RegName(s.Reg), s.Signal())
	}
	return s, nil
}

// registration returns the better of +CEREG and +CREG: a modem on LTE may
// answer +CREG with "searching", one on 2G/3G has no +CEREG.
func registration(ctx context.Context, c *Conn, timeout time.Duration) (int, error) {
	best, errs := -1, []error(nil)
	for _, q := range []struct{ cmd, prefix string }{{"AT+CEREG?", "+CEREG"}, {"AT+CREG?", "+CREG"}} {
		lines, err := c.Command(ctx, q.cmd, timeout)
		var stat int
		if err == nil {
			stat, err = ParseReg(lines, q.prefix)
		}
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return 0, err
			}
			errs = append(errs, err)
			continue
		}
		if Registered(stat) {
			return stat, nil
		}
		if best < 0 || stat == RegDenied {
			best = stat
		}
	}
	if best < 0 {
		return 0, errors.Join(errs...)
	}
	return best, nil
}
