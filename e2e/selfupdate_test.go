package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// buildAgent builds ./cmd/ferry-agent (or the program in src) stamped with
// version, as scripts/build-agents.sh does, at out.
func buildAgent(t *testing.T, out, version, src string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "-ldflags", "-s -w -X main.version="+version, src)
	if src == "./cmd/ferry-agent" {
		cmd.Dir = ".."
	} else {
		cmd.Dir, cmd.Args[len(cmd.Args)-1] = src, "."
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s %s: %v\n%s", src, version, err, b)
	}
}

// agentsFolder makes a `make agents` folder holding one binary for this
// machine's target, with SHA256SUMS and VERSION.
func agentsFolder(t *testing.T, version, src string) string {
	t.Helper()
	dir := t.TempDir()
	name := "ferry-agent-" + runtime.GOOS + "-" + runtime.GOARCH
	buildAgent(t, filepath.Join(dir, name), version, src)
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), fmt.Appendf(nil, "%x  %s\n", sha256.Sum256(data), name), 0o644)
	os.WriteFile(filepath.Join(dir, "VERSION"), []byte(version+"\n"), 0o644)
	return dir
}

// TestAgentUpdatesItself: the real agent built at 1.0.0 takes the 2.0.0
// agent a release carries, after installing the release's files; a later
// release carrying a broken agent (one that exits at once) installs its
// files, and the broken agent is refused, recorded and not tried again.
func TestAgentUpdatesItself(t *testing.T) {
	if runtime.GOARCH == "arm" {
		t.Skip("the device target of a GOARCH=arm build depends on GOARM; the test builds for the machine's own")
	}
	t.Parallel()
	w := newWorld(t)
	exe := filepath.Join(w.dir, "device", "bin", "ferry-agent")
	buildAgent(t, exe, "1.0.0", "./cmd/ferry-agent")
	agentRun := func(args ...string) result {
		t.Helper()
		cmd := exec.Command(exe, args...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := result{stdout: out.String(), stderr: errb.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}
	v1 := tree{"main.py": "print(1)\n"}
	w.release("1.0", v1, "--agents", agentsFolder(t, "2.0.0", "./cmd/ferry-agent"))
	r := agentRun("update", "--config", w.cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "updated") || !strings.Contains(r.stdout, "agent updated 1.0.0 -> 2.0.0") {
		t.Fatalf("update with a new agent: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !sameMap(readTree(t, w.target), want(v1)) {
		t.Fatalf("the release's files: %v", readTree(t, w.target))
	}
	if r := agentRun("version"); !strings.HasPrefix(r.stdout, "ferry-agent 2.0.0 ") {
		t.Fatalf("the binary at %s says %q, want 2.0.0", exe, r.stdout)
	}
	if r := agentRun("update", "--config", w.cfg); r.code != 0 || strings.Contains(r.stdout, "agent updated") {
		t.Fatalf("second update: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, left := range []string{exe + ".ferry-new", exe + ".ferry-prev"} {
		if _, err := os.Stat(left); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", left, err)
		}
	}

	// A broken agent: it exits at once.
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nimport \"os\"\n\nvar version = \"\"\n\nfunc main() { os.Exit(len(version)) }\n"), 0o644)
	v2 := tree{"main.py": "print(2)\n"}
	w.release("1.1", v2, "--agents", agentsFolder(t, "3.0.0", src))
	r = agentRun("update", "--config", w.cfg)
	if r.code == 0 || !strings.Contains(r.stdout, "updated 1.0 -> 1.1") || !strings.Contains(r.stderr, "self-check") {
		t.Fatalf("update with a broken agent: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !sameMap(readTree(t, w.target), want(v2)) {
		t.Fatalf("the application update was lost with the broken agent: %v", readTree(t, w.target))
	}
	if r := agentRun("version"); !strings.HasPrefix(r.stdout, "ferry-agent 2.0.0 ") {
		t.Fatalf("after the broken agent the binary says %q, want 2.0.0", r.stdout)
	}
	failed, err := os.ReadFile(filepath.Join(w.state, "agent-failed.json"))
	if err != nil || !strings.Contains(string(failed), `"version": "3.0.0"`) {
		t.Fatalf("agent-failed.json: %s %v", failed, err)
	}
	if r := agentRun("update", "--config", w.cfg); r.code != 0 || strings.Contains(r.stdout, "agent updated") {
		t.Fatalf("the failed agent was tried again: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	st := agentRun("status", "--config", w.cfg)
	if !strings.Contains(st.stdout, "agent:       2.0.0 (target "+runtime.GOOS+"-"+runtime.GOARCH+")") || !strings.Contains(st.stdout, "agent failed: 3.0.0 at ") {
		t.Fatalf("status does not tell the agent and its failed version:\n%s", st.stdout)
	}
}

// TestDaemonReexecsNewAgent: `ferry-agent run` (the real 1.0.0 binary)
// installs a release carrying the 2.0.0 agent, swaps it in and re-executes
// itself: the same process then runs 2.0.0 and starts its schedule again.
func TestDaemonReexecsNewAgent(t *testing.T) {
	if runtime.GOARCH == "arm" {
		t.Skip("the device target of a GOARCH=arm build depends on GOARM; the test builds for the machine's own")
	}
	t.Parallel()
	w := newWorld(t)
	w.config("check_interval_sec = 3600\nmin_update_interval_sec = 0\n")
	exe := filepath.Join(w.dir, "device", "bin", "ferry-agent")
	buildAgent(t, exe, "1.0.0", "./cmd/ferry-agent")
	w.release("1.0", tree{"main.py": "print(1)\n"}, "--agents", agentsFolder(t, "2.0.0", "./cmd/ferry-agent"))
	cmd := exec.Command(exe, "run", "--config", w.cfg)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-done }()
	healthLog := filepath.Join(w.state, "health.jsonl")
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(healthLog)
		s := string(data)
		i := strings.Index(s, "agent updated 1.0.0 -") // "->" is JSON-escaped in the log
		if i >= 0 && strings.Contains(s[i:], "2.0.0") && strings.Contains(s[i:], "agent started") {
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the daemon exited (%v):\n%s\nhealth log:\n%s", err, logs.String(), s)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no self-update and restart within 60 s:\n%s\nhealth log:\n%s", logs.String(), s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid)); err == nil && got != exe {
		t.Fatalf("the daemon's process runs %q, want the new %s (re-executed in place)", got, exe)
	}
	if !strings.Contains(logs.String(), "re-executing the new agent binary") {
		t.Fatalf("the daemon did not say it re-executed:\n%s", logs.String())
	}
}
