package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFleetSimulate: the command runs devices against an origin served by
// ferry serve and prints the figures; bad flags are refused.
func TestFleetSimulate(t *testing.T) {
	dir := t.TempDir()
	keys, origin, src := filepath.Join(dir, "keys"), filepath.Join(dir, "origin"), filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "main.py"), []byte("print(1)\n"), 0o644)
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := ferryMain(t.Context(), args, &out, &errb)
		return out.String() + errb.String(), code
	}
	for _, args := range [][]string{{"keygen", "--out", keys}, {"release", "--from", src, "--version", "1.0", "--keys", keys, "--origin", origin}} {
		if out, code := run(args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go serve(ctx, ln, origin, slog.New(slog.NewTextHandler(io.Discard, nil)))
	url := "http://" + ln.Addr().String()
	out, code := run("fleet", "simulate", "--devices", "20", "--origin", url, "--root", filepath.Join(keys, "root.pub"), "--poll", "50ms", "--rounds", "3")
	if code != 0 || !strings.Contains(out, "20 devices") || !strings.Contains(out, "1.0: 50% ") || !strings.Contains(out, "100% ") {
		t.Fatalf("simulate: %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"--origin", url, "--root", filepath.Join(keys, "root.pub")},
		{"--devices", "5", "--root", filepath.Join(keys, "root.pub")},
		{"--devices", "5", "--origin", url, "--root", filepath.Join(keys, "root.pub"), "--fleet", "http://127.0.0.1:1"},
		{"--devices", "5", "--origin", url, "--root", filepath.Join(keys, "root.pub"), "--jitter", "1"},
	} {
		if out, code := run(append([]string{"fleet", "simulate"}, bad...)...); code != 2 {
			t.Errorf("simulate %v: exit %d, want 2 (usage)\n%s", bad, code, out)
		}
	}
}

// TestFleetServeRolloutFlags: --origin and --rollout-keys go together.
func TestFleetServeRolloutFlags(t *testing.T) {
	dir := t.TempDir()
	base := []string{"fleet", "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "fleet.db"), "--token-file", filepath.Join(dir, "tokens")}
	for _, args := range [][]string{
		{"--origin", dir},
		{"--rollout-keys", dir},
		{"--origin", dir, "--rollout-keys", dir, "--decide-every", "0s"},
	} {
		var out, errb bytes.Buffer
		if code := ferryMain(t.Context(), append(base, args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), "--") {
			t.Errorf("fleet serve %v: exit %d, want 2 (usage)\n%s", args, code, errb.String())
		}
	}
}
