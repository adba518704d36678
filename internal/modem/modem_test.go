package modem

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/modem/modemtest"
)

func open(t *testing.T, m *modemtest.Modem) *Conn {
	t.Helper()
	c, err := Open(m.Path(), 115200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestQuery runs Query against the emulated modem over a pseudo-terminal.
func TestQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		change  map[string]modemtest.Answer
		want    string // Status.String()
		wantErr error
	}{
		{name: "registered", want: "CSQ 17 (-79 dBm), registered (home), Ferry Mobile"},
		{name: "LTE only: no +CREG", change: map[string]modemtest.Answer{"AT+CREG?": {Lines: []string{"ERROR"}}}, want: "CSQ 17 (-79 dBm), registered (home), Ferry Mobile"},
		{name: "2G only: +CEREG unknown, roaming", change: map[string]modemtest.Answer{
			"AT+CEREG?": {Lines: []string{"+CME ERROR: 4"}}, "AT+CREG?": {Lines: []string{"+CREG: 0,5", "OK"}}}, want: "CSQ 17 (-79 dBm), registered (roaming), Ferry Mobile"},
		{name: "registration refused", change: map[string]modemtest.Answer{
			"AT+CEREG?": {Lines: []string{"+CEREG: 0,3", "OK"}}, "AT+CREG?": {Lines: []string{"+CREG: 0,2", "OK"}}, "AT+CSQ": {Lines: []string{"+CSQ: 99,99", "OK"}}},
			want: "CSQ 99 (unknown), registration denied, Ferry Mobile", wantErr: ErrNotRegistered},
		{name: "no carrier", change: map[string]modemtest.Answer{"AT+CSQ": {Lines: []string{"NO CARRIER"}}}, wantErr: ErrNoCarrier},
		{name: "slow answer", change: map[string]modemtest.Answer{"AT+CSQ": {Lines: []string{"+CSQ: 17,99", "OK"}, Delay: 2 * time.Second}}, wantErr: ErrTimeout},
		{name: "garbage around the answer", change: map[string]modemtest.Answer{
			"AT+CSQ": {Lines: []string{"\x00\xff~~", "RING", "junk+CSQ: 20,0", "OK"}, Raw: []byte("\xfe\xfe+CSQ: 1")}},
			want: "CSQ 20 (-73 dBm), registered (home), Ferry Mobile"},
		{name: "garbage only", change: map[string]modemtest.Answer{"AT+CSQ": {Lines: []string{"+CSQ: banana", "OK"}}}, wantErr: ErrParse},
		{name: "silent modem", change: map[string]modemtest.Answer{
			"AT+CEREG?": {Lines: nil, Delay: time.Hour}, "AT+CREG?": {Lines: nil, Delay: time.Hour}}, wantErr: ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script := modemtest.Registered()
			for k, v := range tc.change {
				script[k] = v
			}
			c := open(t, modemtest.Start(t, script))
			s, err := Query(context.Background(), c, 500*time.Millisecond)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Query: %v, want %v", err, tc.wantErr)
			}
			if tc.want != "" && s.String() != tc.want {
				t.Fatalf("status %q, want %q", s, tc.want)
			}
		})
	}
}

// TestUnsolicitedLinesDropped: a line that arrives between commands does not
// become part of the next answer.
func TestUnsolicitedLinesDropped(t *testing.T) {
	t.Parallel()
	m := modemtest.Start(t, modemtest.Registered())
	c := open(t, m)
	m.Send("+CSQ: 3,0")
	time.Sleep(100 * time.Millisecond)
	lines, err := c.Command(context.Background(), "AT+CSQ", time.Second)
	if err != nil || strings.Join(lines, "|") != "+CSQ: 17,99" {
		t.Fatalf("answer %q, %v", lines, err)
	}
}

func TestOpenMissingPort(t *testing.T) {
	t.Parallel()
	if _, err := Open("/dev/ferry-no-such-port", 115200); err == nil || !strings.Contains(err.Error(), "/dev/ferry-no-such-port") {
		t.Fatalf("err = %v", err)
	}
}
