package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/led"
	"github.com/ferry-ota/ferry/internal/agent/schedule"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// datagrams collects what the agent sends to a real NOTIFY_SOCKET.
func datagrams(t *testing.T, sock string) <-chan string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan string, 1000)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// await reads datagrams until it has seen each of want, in any order (the
// watchdog keeper sends from its own goroutine), or fails after a while.
func await(t *testing.T, ch <-chan string, want ...string) {
	t.Helper()
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	timeout := time.After(30 * time.Second)
	for len(missing) > 0 {
		select {
		case got := <-ch:
			delete(missing, got)
		case <-timeout:
			t.Fatalf("no %v from the agent", missing)
		}
	}
}

// TestRunDaemon runs the daemon against a real notify socket, a fake
// /dev/watchdog and a fake LED, on a fake clock.
func TestRunDaemon(t *testing.T) {
	t.Parallel()
	r := newRig(t, "")
	sock := filepath.Join(r.dir, "notify.sock")
	dog := filepath.Join(r.dir, "watchdog")
	ledDir := filepath.Join(r.dir, "leds", "status")
	must(t, os.MkdirAll(ledDir, 0o755))
	must(t, os.WriteFile(filepath.Join(ledDir, "brightness"), []byte("0"), 0o644))
	must(t, os.WriteFile(dog, nil, 0o600))
	r.cfg.WatchdogDevice, r.cfg.LED = dog, ledDir
	notes := datagrams(t, sock)
	env := map[string]string{"NOTIFY_SOCKET": sock, "WATCHDOG_USEC": "30000000"}
	clk := clock.NewFake(r.sim.Now)
	a := r.agent(t, Options{Clock: clk, Getenv: func(k string) string { return env[k] }})
	r.sim.Publish(originsim.Release{Version: "1.0"}, good("1.0"))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	// Fed at once; ready; the first check is due at start and confirmed.
	await(t, notes, "WATCHDOG=1", "READY=1", "STATUS=running 1.0")
	if got := a.led.State(); got != led.Success {
		t.Errorf("LED shows %v after a confirmed update, want success", got)
	}
	clk.Advance(5 * time.Second) // the device dog's period (10 s timeout)
	await(t, notes, "WATCHDOG=1")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil on a clean stop", err)
	}
	await(t, notes, "STOPPING=1")
	if b, _ := os.ReadFile(dog); len(b) < 2 || b[len(b)-1] != 'V' || strings.Count(string(b), ".") < 2 {
		t.Errorf("watchdog device saw %q: want feeds and the magic close", b)
	}
	if _, err := os.Stat(filepath.Join(r.state, schedule.MarkerFile)); err == nil {
		t.Error("running marker left after a clean stop")
	}
	if rec := installed(t, a); rec == nil || rec.Version != "1.0" || rec.Trial {
		t.Errorf("installed %+v, want 1.0 confirmed", rec)
	}
	s := a.History().Summary()
	if s.Counts[healthlog.KindStart] != 1 || s.LastUpdate == nil {
		t.Errorf("health log %+v: want a start and an update", s.Counts)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
