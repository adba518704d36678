package modem

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary modem output to every parser: none may panic,
// and what they accept must be in range.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"+CREG: 0,1", "+CEREG: 2,5,\"1A2B\",\"01C2D3E4\",7", "+CSQ: 17,99", `+COPS: 0,0,"Op",7`, "+COPS: 0", "+CSQ: -1,5", "\x00+CREG:", `+COPS: 0,0,"unterminated`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		for _, p := range []string{"+CREG", "+CEREG"} {
			if stat, err := ParseReg(lines, p); err == nil && (stat < 0 || stat > 10) {
				t.Fatalf("%s state %d accepted from %q", p, stat, s)
			}
		}
		if r, err := ParseCSQ(lines); err == nil && (r < 0 || (r > 31 && r != 99)) {
			t.Fatalf("CSQ %d accepted from %q", r, s)
		}
		if op, err := ParseCOPS(lines); err == nil && strings.ContainsFunc(op, func(r rune) bool { return r < 0x20 }) {
			t.Fatalf("operator %q holds control characters", op)
		}
	})
}
