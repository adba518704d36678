package lora

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/modem"
	"github.com/ferry-ota/ferry/internal/modem/modemtest"
)

func TestParseDownlink(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]int64{
		"+EVT:RX_1:-70:8:UNICAST:1:4653000000000000002A": 42,
		`+MSG: PORT: 2; RX: "46530000000000000101"`:      257,
		`+CMSG: PORT: 2; RX: "4653000000000000000700ff"`: 7, // a later field is ignored
		"+RCV=50,4,FS42,-60,11":                          42,
		"+EVT:RX_1:-70:8:UNICAST:1:4654000000000000002A": -1, // another payload
		"+EVT:RX_1:-70:8:UNICAST:1:46530000":             -1, // short
		"+EVT:JOINED":                                    -1,
		`+MSG: RX: "zz"`:                                 -1,
		"+RCV=50,5,FS42x,-60,11":                         -1,
		"+RCV=50,2,FS,-60,11":                            -1,
		"+RCV=50,4,FS99999999999999999999999,-60,11":     -1, // over uint64
		"OK": -1,
	} {
		seq, ok := ParseDownlink(line)
		if ok != (want >= 0) || (ok && seq != uint64(want)) {
			t.Errorf("ParseDownlink(%q) = %d, %v; want %d", line, seq, ok, want)
		}
	}
}

func FuzzParseDownlink(f *testing.F) {
	for _, s := range []string{"+EVT:RX_1:-70:8:UNICAST:1:4653000000000000002A", `+MSG: PORT: 2; RX: "46530000000000000101"`, "+RCV=50,4,FS42,-60,11", "+RCV=,,,,", `+MSG: RX: "`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, ok := ParseDownlink(s); ok && !strings.HasPrefix(s, "+") {
			t.Fatalf("accepted %q", s)
		}
	})
}

// TestListenerOverPTY: downlinks from an emulated module over a
// pseudo-terminal trigger a check for a newer sequence, once, rate limited;
// garbage, other payloads and old sequences trigger nothing.
func TestListenerOverPTY(t *testing.T) {
	t.Parallel()
	mod := modemtest.Start(t, map[string]modemtest.Answer{})
	c, err := modem.Open(mod.Path(), 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var got []uint64
	fired := make(chan struct{}, 8)
	l := &Listener{Lines: c, Installed: func() uint64 { return 5 }, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Trigger: func(seq uint64) { mu.Lock(); got = append(got, seq); mu.Unlock(); fired <- struct{}{} }}
	logged := make(chan string, 16)
	l.Log = slog.New(slog.NewTextHandler(chanWriter(logged), nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	send := func(lines ...string) {
		for _, s := range lines {
			mod.Send(s)
		}
	}
	send("\x00\xffgarbage", "+EVT:RX_1:-70:8:UNICAST:1:46530000000000000004", // older than installed
		"+EVT:RX_1:-70:8:UNICAST:1:FFFF", "+EVT:RX_1:-70:8:UNICAST:1:46530000000000000006")
	waitFired(t, fired)
	send("+EVT:RX_1:-70:8:UNICAST:1:46530000000000000007") // within MinInterval: dropped
	for line := ""; !strings.Contains(line, "rate limited"); {
		select {
		case line = <-logged:
		case <-time.After(5 * time.Second):
			t.Fatal("the second downlink was not rate limited")
		}
	}
	mu.Lock()
	now = now.Add(MinInterval)
	mu.Unlock()
	send("+RCV=50,4,FS8,-60,11")
	waitFired(t, fired)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != 6 || got[1] != 8 {
		t.Fatalf("triggers %v, want [6 8]", got)
	}
}

// chanWriter sends each log line to a channel, dropping when it is full.
type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	select {
	case c <- string(p):
	default:
	}
	return len(p), nil
}

func waitFired(t *testing.T, fired chan struct{}) {
	t.Helper()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no trigger")
	}
}
