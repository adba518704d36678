package lora

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/modem"
	"github.com/ferry-ota/ferry/internal/modem/modemtest"
)

// uplinkCases are the status uplinks of the format in the package doc,
// byte for byte: the same bytes as ferry/lora.py's status_payload (checked
// against MicroPython itself by TestStatusPayloadMatchesBoard).
var uplinkCases = []struct {
	name    string
	result  byte
	seq     uint64
	version string
	maxLen  int
	want    string // hex
}{
	{"never, nothing installed", ResultNever, 0, "", UplinkSize, "465500" + "0000000000000000"},
	{"updated to 42", ResultUpdated, 42, "1.4", UplinkSize, "465501" + "000000000000002a"},
	{"rolled back, large sequence", ResultRolledBack, 1<<64 - 1, "", UplinkSize, "465505" + "ffffffffffffffff"},
	{"deferred, 256", ResultDeferred, 256, "", UplinkSize, "465503" + "0000000000000100"},
	{"with the version, room for all", ResultUpToDate, 7, "1.4", 51, "465502" + "0000000000000007" + "312e34"},
	{"with the version, cut", ResultError, 7, "10.20.30", 13, "465504" + "0000000000000007" + "3130"},
}

func TestStatusPayload(t *testing.T) {
	t.Parallel()
	for _, tc := range uplinkCases {
		got := hex.EncodeToString(StatusPayload(tc.result, tc.seq, tc.version, tc.maxLen))
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestUplinkCommand(t *testing.T) {
	t.Parallel()
	p := StatusPayload(ResultUpdated, 42, "", UplinkSize)
	for module, want := range map[string]string{
		ModuleRUI3:  "AT+SEND=2:465501000000000000002A",
		ModuleE5:    `AT+MSGHEX="465501000000000000002A"`,
		ModuleReyax: "AT+SEND=0,22,465501000000000000002A",
	} {
		if got, err := UplinkCommand(module, p); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", module, got, err, want)
		}
	}
	if _, err := UplinkCommand("sx1276", p); !errors.Is(err, ErrModule) || !strings.Contains(err.Error(), `"sx1276"`) {
		t.Errorf("unknown family: %v, want ErrModule naming it", err)
	}
}

// TestDetect asks emulated modules (a pseudo-terminal) their version.
func TestDetect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer modemtest.Answer
		want   string
	}{
		{modemtest.Answer{Lines: []string{"AT+VER=RUI_4.0.6_RAK3172-E", "OK"}}, ModuleRUI3},
		{modemtest.Answer{Lines: []string{"+VER: 4.0.11"}}, ModuleE5}, // no OK: the lines before the timeout count
		{modemtest.Answer{Lines: []string{"+VER=RYLR998_REYAX_V1.2.2"}}, ModuleReyax},
		{modemtest.Answer{Lines: []string{"ERROR"}}, ""},
		{modemtest.Answer{Raw: []byte("\x00\xff garbage")}, ""},
	} {
		mod := modemtest.Start(t, map[string]modemtest.Answer{DetectCommand: tc.answer})
		c, err := modem.Open(mod.Path(), 9600)
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(context.Background(), c, 300*time.Millisecond); got != tc.want {
			t.Errorf("answer %q: family %q, want %q", tc.answer.Lines, got, tc.want)
		}
		c.Close()
	}
}

// TestUplinkOverModule: the status goes to an emulated module as its
// family's command, at most once per Interval.
func TestUplinkOverModule(t *testing.T) {
	t.Parallel()
	mod := modemtest.Start(t, map[string]modemtest.Answer{"AT+MSGHEX=\"465502000000000000000C\"": {Lines: []string{"+MSGHEX: Start", "+MSGHEX: Done"}}})
	c, err := modem.Open(mod.Path(), 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	u := &Uplink{Port: c, Module: ModuleE5, Now: func() time.Time { return now }}
	send := func(want bool) {
		t.Helper()
		if sent, err := u.Status(ResultUpToDate, 12); err != nil || sent != want {
			t.Fatalf("at %s: sent %v, %v; want sent %v", now.Format(time.TimeOnly), sent, err, want)
		}
	}
	send(true)
	now = now.Add(59 * time.Minute)
	send(false) // within the hour
	now = now.Add(time.Minute)
	send(true)
	want := []string{`AT+MSGHEX="465502000000000000000C"`, `AT+MSGHEX="465502000000000000000C"`}
	deadline := time.Now().Add(5 * time.Second)
	for len(mod.Commands()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := mod.Commands(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("the module got %q, want %q", got, want)
	}
}
