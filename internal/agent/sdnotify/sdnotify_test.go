package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// listen opens a real unixgram socket like systemd's; name "" makes one in
// t.TempDir, a name starting with '@' an abstract one.
func listen(t *testing.T, name string) (*net.UnixConn, string) {
	t.Helper()
	if name == "" {
		name = filepath.Join(t.TempDir(), "notify.sock")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, name
}

func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotifyOverRealSocket(t *testing.T) {
	t.Parallel()
	abstract := fmt.Sprintf("@ferry-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	for _, name := range []string{"", abstract} {
		t.Run(fmt.Sprintf("abstract=%v", name != ""), func(t *testing.T) {
			t.Parallel()
			conn, sock := listen(t, name)
			n := New(env(map[string]string{"NOTIFY_SOCKET": sock}))
			steps := []struct {
				send func() error
				want string
			}{
				{n.Ready, "READY=1"},
				{n.Feed, "WATCHDOG=1"},
				{func() error { return n.Status("downloading\n1.2.0") }, "STATUS=downloading 1.2.0"},
				{n.Stopping, "STOPPING=1"},
			}
			var got, want []string
			for _, s := range steps {
				if err := s.send(); err != nil {
					t.Fatal(err)
				}
				got, want = append(got, recv(t, conn)), append(want, s.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("datagrams (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoSocketIsNoop(t *testing.T) {
	t.Parallel()
	var nilN *Notifier
	for _, n := range []*Notifier{New(env(nil)), nilN, {}} {
		if n.Enabled() {
			t.Error("Enabled without NOTIFY_SOCKET")
		}
		if err := n.Ready(); err != nil {
			t.Errorf("Ready without a socket: %v", err)
		}
	}
}

func TestNotifyErrors(t *testing.T) {
	t.Parallel()
	n := New(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "gone.sock")}))
	if err := n.Feed(); !errors.Is(err, ErrNotify) {
		t.Errorf("Feed to a missing socket: %v, want ErrNotify", err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Parallel()
	me := fmt.Sprint(os.Getpid())
	tests := []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantOn  bool
		wantErr bool
	}{
		{"off", nil, 0, false, false},
		{"half", map[string]string{"WATCHDOG_USEC": "30000000"}, 15 * time.Second, true, false},
		{"for us", map[string]string{"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": me}, time.Second, true, false},
		{"for another pid", map[string]string{"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, 0, false, false},
		{"garbage", map[string]string{"WATCHDOG_USEC": "soon"}, 0, false, true},
		{"zero", map[string]string{"WATCHDOG_USEC": "0"}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, on, err := WatchdogInterval(env(tt.env))
			if got != tt.want || on != tt.wantOn || (err != nil) != tt.wantErr {
				t.Errorf("WatchdogInterval = %v, %v, %v; want %v, %v, err %v", got, on, err, tt.want, tt.wantOn, tt.wantErr)
			}
		})
	}
}
