package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// agentsDir builds a tiny Go program stamped like `make agents` does, as
// ferry-agent-linux-amd64, with its SHA256SUMS.
func agentsDir(t *testing.T, version string) string {
	t.Helper()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module fake\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nvar version = \"dev\"\n\nfunc main() { println(version) }\n"), 0o644)
	dir := t.TempDir()
	bin := filepath.Join(dir, "ferry-agent-linux-amd64")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags", "-s -w -X main.version="+version, ".") // as scripts/build-agents.sh
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	writeSums(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeSums(t *testing.T, dir string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "ferry-agent-*"))
	var b strings.Builder
	for _, n := range names {
		data, _ := os.ReadFile(n)
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), filepath.Base(n))
	}
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseWithAgents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keyDir, ring := newKeys(t)
	agents := agentsDir(t, "1.7.0")
	origin := t.TempDir()
	src := tree{"main.py": "print(1)\n"}.write(t)
	res, err := Release(ctx, Dir{Root: src}, Options{Origin: origin, Channel: "stable", Version: "1.0", Agents: agents,
		Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	_, m := deviceView(t, keyDir, origin, "stable")
	a, ok := m.Agent("linux-amd64")
	if res.Agents != 1 || !ok || a.Version != "1.7.0" || len(m.Files) != 1 {
		t.Fatalf("result %+v, manifest agents %+v, files %d: want the amd64 agent 1.7.0 beside the one file", res, m.Agents, len(m.Files))
	}
	checkBlob(t, origin, a.File())

	// A damaged binary is refused, naming it.
	bin := filepath.Join(agents, "ferry-agent-linux-amd64")
	data, _ := os.ReadFile(bin)
	data[len(data)/2] ^= 1
	os.WriteFile(bin, data, 0o755)
	_, err = Release(ctx, Dir{Root: src}, Options{Origin: origin, Channel: "stable", Version: "1.1", Agents: agents,
		Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow})
	if !errors.Is(err, ErrAgents) || !strings.Contains(err.Error(), bin) || !strings.Contains(err.Error(), "SHA256SUMS says") {
		t.Fatalf("damaged agent: %v, want ErrAgents naming %s", err, bin)
	}
	// So is a binary SHA256SUMS does not list.
	writeSums(t, agents)
	os.WriteFile(filepath.Join(agents, "ferry-agent-linux-riscv64"), data, 0o755)
	_, err = Release(ctx, Dir{Root: src}, Options{Origin: origin, Channel: "stable", Version: "1.1", Agents: agents,
		Expires: testNow.Add(time.Hour), Keys: ring, Now: testNow})
	if !errors.Is(err, ErrAgents) || !strings.Contains(err.Error(), "ferry-agent-linux-riscv64 is not listed") {
		t.Fatalf("unlisted agent: %v", err)
	}
}

// FuzzParseSums: any SHA256SUMS either fails cleanly or gives names without
// slashes, each a ferry-agent-* binary.
func FuzzParseSums(f *testing.F) {
	f.Add([]byte(strings.Repeat("0", 64) + "  ferry-agent-linux-amd64\n" + strings.Repeat("a", 64) + " *ferry-agent-linux-armv7\n"))
	f.Add([]byte("zz  ferry-agent-x\n"))
	f.Add([]byte(strings.Repeat("0", 64) + "  ../ferry-agent-x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, err := parseSums(bytes.NewReader(data), "SHA256SUMS")
		if err != nil {
			if !errors.Is(err, ErrAgents) {
				t.Fatalf("error %v does not wrap ErrAgents", err)
			}
			return
		}
		for name := range sums {
			if strings.ContainsAny(name, "/\\") || !strings.HasPrefix(name, agentPrefix) {
				t.Fatalf("accepted name %q", name)
			}
		}
	})
}
