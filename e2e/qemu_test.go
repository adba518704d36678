package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
)

// The agent's device targets, tested under qemu-user (Debian package
// qemu-user-static). The publisher and `ferry serve` run natively; only the
// agent is emulated, as on a real field gateway.

// agentBudget is the size budget of the stripped agent, on every target
// (scripts/build-agents.sh checks the ones not emulated here: armv6, mips,
// amd64).
const agentBudget = 8 << 20

// Stamped into the agents built here, checked by `ferry-agent version`.
const (
	qemuVersion = "1.2.3-qemu"
	qemuCommit  = "0123456789abcdef"
	qemuDate    = "2026-01-02T03:04:05Z"
)

// qemuArch is one device architecture: how to build for it and which
// qemu-user emulator runs it.
type qemuArch struct {
	name string   // subtest name
	env  []string // GOARCH and its variant
	qemu string   // emulator, without the "-static" suffix
}

var qemuArches = []qemuArch{
	{"arm", []string{"GOARCH=arm", "GOARM=7"}, "qemu-arm"},
	{"arm64", []string{"GOARCH=arm64"}, "qemu-aarch64"},
	{"mipsle", []string{"GOARCH=mipsle", "GOMIPS=softfloat"}, "qemu-mipsel"},
	{"riscv64", []string{"GOARCH=riscv64"}, "qemu-riscv64"},
}

// emulated is an agent binary for a foreign architecture and the emulator
// that runs it.
type emulated struct {
	qemu, agent string
}

var (
	crossMu    sync.Mutex
	crossBuilt = map[string]string{} // arch name → agent binary, built once per test run
)

// agentTags are the build tags of the device binaries, as in
// scripts/build-agents.sh: nethttpomithttp2 leaves out net/http's HTTP/2
// (about 390 KB on MIPS). Origins are static files fetched in one or two
// requests an update, where HTTP/1.1 costs no more bytes.
const agentTags = "nethttpomithttp2"

// agentGcflags are the compiler flags of the device binaries, as in
// scripts/build-agents.sh: no inlining outside the standard library.
var agentGcflags = []string{"-gcflags=all=-l", "-gcflags=std="}

// crossAgent builds the stripped, stamped agent for a, once per test run.
func crossAgent(t *testing.T, a qemuArch) string {
	t.Helper()
	crossMu.Lock()
	defer crossMu.Unlock()
	if p, ok := crossBuilt[a.name]; ok {
		return p
	}
	out := filepath.Join(bin, "ferry-agent-"+a.name)
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s -X main.date=%s", qemuVersion, qemuCommit, qemuDate)
	args := append([]string{"build", "-trimpath", "-tags", agentTags}, agentGcflags...)
	cmd := exec.CommandContext(t.Context(), "go", append(args, "-ldflags", ldflags, "-o", out, "./cmd/ferry-agent")...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0", "GOOS=linux"}, a.env...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ferry-agent for %s: %v\n%s", a.name, err, b)
	}
	crossBuilt[a.name] = out
	return out
}

// findQEMU finds the emulator for a. Without qemu-user-static the test fails
// in CI (CI=true: .ci/run installs it) and, on a developer's machine, is
// skipped with the command that installs it, so that `go test ./...` works
// on a fresh machine.
func findQEMU(t *testing.T, a qemuArch) string {
	t.Helper()
	for _, name := range []string{a.qemu + "-static", a.qemu} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s-static not found: install qemu-user-static (apt-get install qemu-user-static) to run the agent under emulation", a.qemu)
	if os.Getenv("CI") != "true" {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

// run runs the emulated agent with args, with a deadline so that a hang
// under emulation fails the test instead of stalling it.
func (e emulated) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.qemu, append([]string{e.agent}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("qemu ferry-agent %v: %v (stderr %q)", args, err, r.stderr)
	}
	return r
}

// refusalLine is the agent's error line in stderr; warnings may precede it.
func refusalLine(stderr string) string {
	var line string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "ferry-agent update: ") {
			line = l
		}
	}
	return line
}

// TestAgentUnderQEMU runs the end-to-end update with the agent built for
// each device architecture under qemu-user: version stamp, fresh install,
// update, no-op, and two refusals (a tampered blob, an unpinned root key).
func TestAgentUnderQEMU(t *testing.T) {
	t.Parallel()
	for _, a := range qemuArches {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			e := emulated{qemu: findQEMU(t, a), agent: crossAgent(t, a)}
			checkBudget(t, a.name, e.agent)
			checkVersion(t, e)
			w := newWorld(t)
			updateTo(t, e, w, "1.0", v1, `^updated \(none\) -> 1\.0 \(6 files, \d+ bytes\)\n$`)
			updateTo(t, e, w, "2.0", v2, `^updated 1\.0 -> 2\.0 \(\d+ files, \d+ bytes\)\n$`)
			if r := e.run(t, "update", "--config", w.cfg); r.code != 0 || r.stdout != "up to date (2.0)\n" {
				t.Fatalf("no-op: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			refuseTampered(t, e, w)
			refuseUnpinned(t, e, w)
		})
	}
}

func checkBudget(t *testing.T, arch, agent string) {
	t.Helper()
	fi, err := os.Stat(agent)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > agentBudget {
		t.Errorf("stripped linux/%s agent is %d bytes, over the %d-byte (8 MiB) budget: see what it links with go tool nm -size -sort size", arch, fi.Size(), agentBudget)
	}
	t.Logf("stripped linux/%s agent: %d bytes", arch, fi.Size())
}

func checkVersion(t *testing.T, e emulated) {
	t.Helper()
	want := fmt.Sprintf("ferry-agent %s (commit %s, built %s)\n", qemuVersion, qemuCommit, qemuDate)
	if r := e.run(t, "version"); r.code != 0 || r.stdout != want {
		t.Fatalf("version: exit %d %q %q, want %q", r.code, r.stdout, r.stderr, want)
	}
}

// updateTo publishes files as version, updates the emulated device and
// checks its output against the pattern and its files against the release.
func updateTo(t *testing.T, e emulated, w *world, version string, files tree, pattern string) {
	t.Helper()
	w.release(version, files)
	r := e.run(t, "update", "--config", w.cfg)
	if r.code != 0 || !regexp.MustCompile(pattern).MatchString(r.stdout) {
		t.Fatalf("update to %s: exit %d %q %q", version, r.code, r.stdout, r.stderr)
	}
	if got := readTree(t, w.target); !sameMap(got, want(files)) {
		t.Fatalf("after %s:\n got %v\nwant %v", version, got, want(files))
	}
}

// refuse updates the emulated device, which must exit 1 saying msg and
// leave the target as it was.
func refuse(t *testing.T, e emulated, w *world, msg string) {
	t.Helper()
	before := readTree(t, w.target)
	r := e.run(t, "update", "--config", w.cfg)
	if line := refusalLine(r.stderr); r.code != 1 || !strings.Contains(line, msg) {
		t.Fatalf("exit %d, stderr %q: want exit 1 and one line saying %q", r.code, r.stderr, msg)
	}
	if after := readTree(t, w.target); !sameMap(before, after) {
		t.Fatalf("target changed by a refused update:\nbefore %v\nafter  %v", before, after)
	}
}

// refuseTampered publishes 3.0 with one blob replaced on the origin.
func refuseTampered(t *testing.T, e emulated, w *world) {
	t.Helper()
	v3 := tree{"main.py": "print(3)\n", "run.sh": "#!/bin/sh\necho 3\n"}
	w.release("3.0", v3)
	os.RemoveAll(filepath.Join(w.origin, "deltas")) // the bundle would carry the genuine content
	w.writeOrigin(layout.Blob(sha256.Sum256([]byte(v3["main.py"]))), []byte("(tampered)"))
	refuse(t, e, w, "does not match the manifest")
}

// refuseUnpinned publishes 4.0 signed by keys whose root the device has not
// pinned.
func refuseUnpinned(t *testing.T, e emulated, w *world) {
	t.Helper()
	other := filepath.Join(w.dir, "otherkeys")
	mustRun(t, "ferry", "keygen", "--out", other)
	w.release("4.0", v1)
	w.configRoot(filepath.Join(other, "root.pub"))
	refuse(t, e, w, "not signed by a trusted key")
}

// unneeded are packages the agent must not link, with the reason: the
// publisher's side, servers for tests, delta generation, the test framework.
var unneeded = map[string]string{
	"github.com/ferry-ota/ferry/internal/publish":       "the publisher (release builder, git publishing through os/exec)",
	"github.com/ferry-ota/ferry/internal/keys":          "key generation and the publisher's key ring",
	"github.com/ferry-ota/ferry/internal/originsim":     "the attack-staging fake origin of the tests",
	"github.com/ferry-ota/ferry/internal/github/fakegh": "the fake GitHub of the tests",
	"index/suffixarray":                                 "delta generation (the device only applies patches)",
	"github.com/ferry-ota/ferry/internal/zstdcli":       "the publisher's reference zstd encoder (os/exec of the zstd command)",
	"net/http/httptest":                                 "test servers",
	"net/http/pprof":                                    "a debugging server",
	"expvar":                                            "a debugging server",
	"testing":                                           "the test framework",
	"github.com/ferry-ota/ferry/internal/fleet/server":  "the fleet service",
	"github.com/ferry-ota/ferry/internal/fleet/store":   "the fleet service's database",
	"github.com/ferry-ota/ferry/internal/fleet/pgtest":  "the PostgreSQL of the tests",
	"modernc.org/sqlite":                                "the fleet service's SQLite driver",
	"github.com/jackc/pgx/v5/stdlib":                    "the fleet service's PostgreSQL driver",
	"database/sql":                                      "the fleet service's database",
	"html/template":                                     "the fleet dashboard",
	"github.com/pelletier/go-toml/v2":                   "a general TOML library (about 390 KB on MIPS; internal/config reads agent.toml itself, and tests it against this library)",
}

// TestAgentLinks checks that ferry-agent, as built for linux/arm, links
// nothing it does not need: each package it must not link is reported with
// the chain of imports that brings it in.
func TestAgentLinks(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", "./cmd/ferry-agent")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/ferry-agent: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		imports[pkg] = strings.Fields(deps)
	}
	const root = "github.com/ferry-ota/ferry/cmd/ferry-agent"
	for pkg := range imports {
		why, bad := unneeded[pkg]
		if !bad && strings.HasPrefix(pkg, "testing/") {
			why, bad = "test support", true
		}
		if bad {
			t.Errorf("ferry-agent links %s (%s) through %s", pkg, why, strings.Join(importChain(imports, root, pkg), " -> "))
		}
	}
	if len(imports) < 2 {
		t.Fatalf("go list found %d packages: %s", len(imports), out)
	}
	t.Logf("ferry-agent links %d packages", len(imports))
}

// importChain is a shortest chain of imports from one package to another.
func importChain(imports map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append([]string{p}, chain...)
			}
			return chain
		}
		for _, d := range imports[p] {
			if _, seen := prev[d]; !seen {
				prev[d] = p
				queue = append(queue, d)
			}
		}
	}
	return []string{from, "?", to}
}
