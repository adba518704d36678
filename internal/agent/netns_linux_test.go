package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/device"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// The two links of TestLinksInNetns, in a device namespace, each a veth
// pair to an origin namespace; the origin listens on a third address
// reachable over both. Only addresses inside these namespaces are used.
const (
	nsOriginAddr = "10.254.3.1"
	nsWiFi       = "fwifi0"
	nsCell       = "fcell0"
)

// netnsChildEnv names the config a child run of the test binary updates
// with, inside the device namespace.
const netnsChildEnv = "FERRY_NETNS_CHILD_CONFIG"

// TestLinksInNetns: a device with a free link (WiFi) and a costly one
// (cellular, slowed and lossy with tc netem), both real interfaces in a
// network namespace the test creates, and an origin reachable over both.
// The agent takes the free link (the bytes go over its interface), fails
// over to cellular when WiFi goes down, defers when only cellular is up
// and the update is over the month's budget, and proceeds when the budget
// allows. Each step is one `update` of the agent, run as a child process
// inside the namespace; the budget ledger carries over between them.
func TestLinksInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it creates network namespaces, veth pairs and a netem qdisc (run as root, as CI does)")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian package iproute2): %v", tool, err)
		}
	}
	devNS, orgNS := makeNetns(t)
	sim := originsim.New(t)
	sim.Now = time.Now()
	serveInNetns(t, orgNS, sim)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "root.pub"), sim.RootPub(), 0o644))

	// 1. Both links up: the free one carries the update, although the
	// routing table prefers cellular.
	sim.Publish(originsim.Release{Version: "1.0"}, originsim.Tree{"main.py": "print(1)\n"})
	wifi0, cell0 := rxBytes(t, devNS, nsWiFi), rxBytes(t, devNS, nsCell)
	out := runInNetns(t, devNS, dir, "monthly_budget = 0.0")
	wantLine(t, out, "updated (none) -> 1.0 (1 files, ", " over wifi)")
	if w, c := rxBytes(t, devNS, nsWiFi)-wifi0, rxBytes(t, devNS, nsCell)-cell0; w < 1000 || c > 600 {
		t.Fatalf("over wifi: %d bytes came in on %s and %d on %s; want the update on wifi only", w, nsWiFi, c, nsCell)
	}

	// 2. WiFi goes down: the agent fails over to cellular (within budget).
	ipNS(t, devNS, "link", "set", nsWiFi, "down")
	sim.Publish(originsim.Release{Version: "2.0"}, originsim.Tree{"main.py": "print(2)\n"})
	cell0 = rxBytes(t, devNS, nsCell)
	out = runInNetns(t, devNS, dir, "monthly_budget = 1.0\nmax_wait_for_free_hours = 0")
	wantLine(t, out, "updated 1.0 -> 2.0 (1 files, ", " over cellular)")
	if c := rxBytes(t, devNS, nsCell) - cell0; c < 1000 {
		t.Fatalf("failover: only %d bytes came in on %s", c, nsCell)
	}

	// 3. Only cellular, and a release over what is left of the budget: deferred.
	big := make([]byte, 300<<10)
	rand.Read(big)
	sim.Publish(originsim.Release{Version: "3.0"}, originsim.Tree{"main.py": "print(3)\n", "big.bin": string(big)})
	out = runInNetns(t, devNS, dir, "monthly_budget = 1.0\nmax_wait_for_free_hours = 0")
	wantLine(t, out, "deferred 3.0 (0.3 MB over cellular costs ", "; budget left this month ")
	if got, _ := os.ReadFile(filepath.Join(dir, "app", "main.py")); string(got) != "print(2)\n" {
		t.Fatalf("target changed by a deferred update: main.py %q", got)
	}

	// 4. A budget that allows it: the update proceeds over cellular.
	out = runInNetns(t, devNS, dir, "monthly_budget = 100.0\nmax_wait_for_free_hours = 0")
	wantLine(t, out, "updated 2.0 -> 3.0 (2 files, ", " over cellular)")
}

// TestLinksInNetnsChild is TestLinksInNetns's device: it runs one update
// inside the device namespace when the parent starts it.
func TestLinksInNetnsChild(t *testing.T) {
	path := os.Getenv(netnsChildEnv)
	if path == "" {
		t.Skip("the device side of TestLinksInNetns: runs only as its child process")
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := device.New(cfg, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(dev, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := a.Update(ctx)
	if err != nil {
		fmt.Printf("RESULT error: %v\n", err)
		return
	}
	fmt.Printf("RESULT %s\n", res)
}

// runInNetns runs one update in the device namespace with the budget keys
// keys, and returns its result line.
func runInNetns(t *testing.T, ns, dir, keys string) string {
	t.Helper()
	cfg := fmt.Sprintf(`origin = "http://%s:8080/"
target = "app"
state = "state"
root_keys = ["root.pub"]
http_retries = 2
backoff_sec = 0
max_backoff_sec = 1
%s
[[transport]]
name = "cellular"
kind = "cellular"
cost_per_mb = 10.0
interface = %q
up_timeout_sec = 1
[[transport]]
name = "wifi"
kind = "wifi"
cost_per_mb = 0.0
interface = %q
up_timeout_sec = 1
`, nsOriginAddr, keys, nsCell, nsWiFi)
	path := filepath.Join(dir, "agent.toml")
	must(t, os.WriteFile(path, []byte(cfg), 0o644))
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestLinksInNetnsChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child in %s: %v\n%s", ns, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if r, ok := strings.CutPrefix(l, "RESULT "); ok {
			return r
		}
	}
	t.Fatalf("child printed no result:\n%s", out)
	return ""
}

func wantLine(t *testing.T, got, prefix, contains string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) || !strings.Contains(got, contains) {
		t.Fatalf("result %q, want %q…%q", got, prefix, contains)
	}
}

func ipNS(t *testing.T, ns string, args ...string) {
	t.Helper()
	run(t, append([]string{"ip", "-n", ns}, args...)...)
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// makeNetns creates the device and origin namespaces and their two links;
// they are deleted (with their interfaces) when the test ends.
func makeNetns(t *testing.T) (dev, org string) {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	dev, org = "ferry-dev-"+id, "ferry-org-"+id
	for _, ns := range []string{dev, org} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	for i, l := range []string{nsWiFi, nsCell} {
		peer := "forg" + strconv.Itoa(i) + id[:4]
		run(t, "ip", "link", "add", l+id[:4], "netns", dev, "type", "veth", "peer", "name", peer, "netns", org)
		ipNS(t, dev, "link", "set", l+id[:4], "name", l)
		net := fmt.Sprintf("10.254.%d", i+1)
		ipNS(t, dev, "addr", "add", net+".2/24", "dev", l)
		ipNS(t, org, "addr", "add", net+".1/24", "dev", peer)
		ipNS(t, dev, "link", "set", l, "up")
		ipNS(t, org, "link", "set", peer, "up")
		// The cellular route is the preferred one: only the binding to
		// the chosen interface sends the update over WiFi.
		ipNS(t, dev, "route", "add", nsOriginAddr+"/32", "via", net+".1", "dev", l, "metric", strconv.Itoa(20-10*i))
	}
	ipNS(t, org, "link", "set", "lo", "up")
	ipNS(t, org, "addr", "add", nsOriginAddr+"/32", "dev", "lo")
	ipNS(t, dev, "link", "set", "lo", "up")
	slowAndLossy(t, dev)
	return dev, org
}

// slowAndLossy makes the cellular link slow and lossy with tc netem. A
// kernel built without sch_netem (some sandboxes and minimal kernels) runs
// the test on a plain link, and says so.
func slowAndLossy(t *testing.T, dev string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", dev, "tc", "qdisc", "add", "dev", nsCell, "root", "netem", "delay", "30ms", "loss", "1%").CombinedOutput()
	switch {
	case err != nil && strings.Contains(string(out), "qdisc kind is unknown"):
		t.Logf("this kernel has no sch_netem (tc: %s): the cellular link is neither slowed nor lossy in this run", strings.TrimSpace(string(out)))
	case err != nil:
		t.Fatalf("tc qdisc add netem: %v\n%s", err, out)
	}
}

// rxBytes returns the bytes received on an interface of a namespace.
func rxBytes(t *testing.T, ns, iface string) int64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "cat", "/sys/class/net/"+iface+"/statistics/rx_bytes").Output()
	if err != nil {
		t.Fatalf("rx_bytes of %s in %s: %v", iface, ns, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// serveInNetns serves sim's files on nsOriginAddr:8080 from a socket made
// inside the namespace ns (a socket keeps the namespace it was made in).
func serveInNetns(t *testing.T, ns string, sim *originsim.Sim) {
	t.Helper()
	ln, err := listenInNetns(ns, "tcp", nsOriginAddr+":8080")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := sim.Get(strings.TrimPrefix(r.URL.Path, "/"))
		if data == nil {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func listenInNetns(ns, network, addr string) (net.Listener, error) {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer self.Close()
	target, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", ns, err)
	}
	ln, lerr := net.Listen(network, addr)
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays in ns: keep it locked, so that Go ends it with
		// this goroutine instead of running other code in the wrong namespace.
		return ln, lerr
	}
	runtime.UnlockOSThread()
	return ln, lerr
}
