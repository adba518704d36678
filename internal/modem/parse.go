package modem

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrParse: an answer did not hold the field asked for.
var ErrParse = errors.New("modem: unparsable answer")

// Registration states of +CREG/+CEREG (3GPP TS 27.007 <stat>).
const (
	RegNotSearching = 0
	RegHome         = 1
	RegSearching    = 2
	RegDenied       = 3
	RegUnknown      = 4
	RegRoaming      = 5
)

// RegName names a registration state.
func RegName(stat int) string {
	switch stat {
	case RegNotSearching:
		return "not registered"
	case RegHome:
		return "registered (home)"
	case RegSearching:
		return "searching"
	case RegDenied:
		return "registration denied"
	case RegRoaming:
		return "registered (roaming)"
	}
	return "registration unknown"
}

// Registered reports whether stat lets the modem carry data.
func Registered(stat int) bool { return stat == RegHome || stat == RegRoaming }

// field returns the text after "prefix:" on the first line that has it,
// anywhere in the line (garbage before it is skipped).
func field(lines []string, prefix string) (string, bool) {
	for _, l := range lines {
		if i := strings.Index(l, prefix+":"); i >= 0 {
			return strings.TrimSpace(l[i+len(prefix)+1:]), true
		}
	}
	return "", false
}

// ints parses comma-separated leading integers; it stops at the first field
// that is not one.
func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(f), `"`))
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// ParseReg returns <stat> of a +CREG? or +CEREG? answer ("+CREG: 0,1":
// the mode, then the state; an unsolicited "+CREG: 1" has the state only).
func ParseReg(lines []string, prefix string) (int, error) {
	v, ok := field(lines, prefix)
	if !ok {
		return 0, fmt.Errorf("%w: no %s in %q", ErrParse, prefix, strings.Join(lines, "|"))
	}
	n := ints(v)
	var stat int
	switch {
	case len(n) >= 2:
		stat = n[1]
	case len(n) == 1:
		stat = n[0]
	default:
		return 0, fmt.Errorf("%w: %s %q", ErrParse, prefix, v)
	}
	if stat < 0 || stat > 10 {
		return 0, fmt.Errorf("%w: %s state %d", ErrParse, prefix, stat)
	}
	return stat, nil
}

// ParseCSQ returns the RSSI (0-31, 99 unknown) of a +CSQ answer.
func ParseCSQ(lines []string) (int, error) {
	v, ok := field(lines, "+CSQ")
	if !ok {
		return 0, fmt.Errorf("%w: no +CSQ in %q", ErrParse, strings.Join(lines, "|"))
	}
	n := ints(v)
	if len(n) < 1 || n[0] < 0 || (n[0] > 31 && n[0] != 99) {
		return 0, fmt.Errorf("%w: +CSQ %q", ErrParse, v)
	}
	return n[0], nil
}

// DBm converts a CSQ RSSI to dBm: 0 is -113, 31 is -51 or more; ok is
// false for 99 (not known).
func DBm(rssi int) (int, bool) {
	if rssi < 0 || rssi > 31 {
		return 0, false
	}
	return -113 + 2*rssi, true
}

// ParseCOPS returns the operator of a +COPS? answer (`+COPS: 0,0,"Op",7`),
// or "" when the modem has none (`+COPS: 0`).
func ParseCOPS(lines []string) (string, error) {
	v, ok := field(lines, "+COPS")
	if !ok {
		return "", fmt.Errorf("%w: no +COPS in %q", ErrParse, strings.Join(lines, "|"))
	}
	i := strings.IndexByte(v, '"')
	if i < 0 {
		return "", nil
	}
	j := strings.IndexByte(v[i+1:], '"')
	if j < 0 {
		return "", fmt.Errorf("%w: +COPS %q: unterminated name", ErrParse, v)
	}
	name := v[i+1 : i+1+j]
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name), nil
}
