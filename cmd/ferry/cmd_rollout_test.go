package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/github/fakegh"
)

// TestStagedRollout: a policy with --keys and --origin re-signs the pointer
// at the first stage; --status shows it, then the halt once devices fail.
func TestStagedRollout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, keyDir, origin, db := filepath.Join(dir, "src"), filepath.Join(dir, "keys"), filepath.Join(dir, "origin"), filepath.Join(dir, "fleet.db")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.py"), []byte("print(2)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runFerry(t, "keygen", "--out", keyDir); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	if code, _, errOut := runFerry(t, "release", "--from", src, "--version", "2.0", "--keys", keyDir, "--origin", origin); code != 0 {
		t.Fatalf("release: %s", errOut)
	}
	code, out, errOut := runFerry(t, "rollout", "--channel", "stable", "--db", db, "--stages", "1,10,100", "--every", "6h",
		"--halt-on-failure-rate", "10%", "--min-reports", "3", "--keys", keyDir, "--origin", origin)
	if code != 0 || !strings.Contains(out, "--stages 1,10,100 --every 6h0m0s --halt-on-failure-rate 10% --min-reports 3") {
		t.Fatalf("rollout --stages: exit %d\n%s%s", code, out, errOut)
	}
	pointer, err := os.ReadFile(filepath.Join(origin, "channels", "stable.note"))
	if err != nil || !strings.Contains(string(pointer), "rollout 1\n") {
		t.Errorf("pointer after --stages: %q, %v: want rollout 1 (the first stage)", pointer, err)
	}
	status := func() string {
		t.Helper()
		code, out, errOut := runFerry(t, "rollout", "--channel", "stable", "--db", db, "--status")
		if code != 0 {
			t.Fatalf("--status: exit %d %s", code, errOut)
		}
		return out
	}
	if s := status(); !strings.Contains(s, "release 2.0 at stage 1 of 3 (1%)") || !strings.Contains(s, "hold: 2.0 at 1%: 0 of 3 devices needed") {
		t.Errorf("status before reports:\n%s", s)
	}
	addReports(t, db, report.Updated, report.RolledBack, report.Updated)
	if s := status(); !strings.Contains(s, "halt: halt 2.0 at 1%: failure rate 33.33% reaches 10%") {
		t.Errorf("status after a rollback among 3:\n%s", s)
	}
}

func addReports(t *testing.T, db string, outcomes ...string) {
	t.Helper()
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, o := range outcomes {
		id := string(rune('a' + i))
		if err := st.Enroll(t.Context(), id, []byte("key "+id), time.Now()); err != nil {
			t.Fatal(err)
		}
		r := &report.Report{Format: 1, Device: id, Number: 1, Time: time.Now(), Channel: "stable", Version: "2.0", Target: "2.0", Outcome: o}
		if _, err := st.AddReport(t.Context(), r, []byte("{}"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStagedRolloutUsage(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "fleet.db")
	for _, args := range [][]string{
		{"rollout", "--stages", "1,100"},                 // no --db
		{"rollout", "--db", db, "--stages", "50,10,100"}, // not rising
		{"rollout", "--db", db, "--stages", "1,50"},      // not to 100
		{"rollout", "--db", db, "--stages", "1,100", "--halt-on-failure-rate", "0%"},
		{"rollout", "--db", db, "--stages", "1,100", "--percent", "5"},
		{"rollout", "--db", db, "--stages", "1,100", "--keys", "k"}, // without --origin
		{"rollout", "--db", db, "--stages", "1,100", "--status"},
	} {
		if code, _, errOut := runFerry(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args[1:], code, errOut)
		}
	}
	if code, _, errOut := runFerry(t, "rollout", "--db", db, "--status", "--channel", "beta"); code != 1 || !strings.Contains(errOut, `channel "beta" has no staged rollout`) {
		t.Errorf("--status of a channel without a policy: exit %d %s", code, errOut)
	}
}

// TestStagedRolloutGitHub: with --github, the pointer re-signed at the
// first stage ("rollout-doc 1") replaces the one on the GitHub release, so
// that `ferry fleet serve --github` governs the channel its devices poll.
func TestStagedRolloutGitHub(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, keyDir, origin, db := filepath.Join(dir, "src"), filepath.Join(dir, "keys"), filepath.Join(dir, "origin"), filepath.Join(dir, "fleet.db")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.py"), []byte("print(2)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := fakegh.New(t, "acme", "app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	if code, _, errOut := runFerry(t, "keygen", "--out", keyDir); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	if code, _, errOut := runFerry(t, "keys", "add-rollout", "--keys", keyDir, "--channel", "stable"); code != 0 {
		t.Fatalf("keys add-rollout: %s", errOut)
	}
	gh := []string{"--github", "acme/app", "--tag", "v2.0", "--github-api", srv.URL}
	if code, _, errOut := runFerry(t, append([]string{"release", "--from", src, "--version", "2.0", "--keys", keyDir, "--origin", origin}, gh...)...); code != 0 {
		t.Fatalf("release: %s", errOut)
	}
	if code, _, errOut := runFerry(t, append([]string{"rollout", "--db", db, "--stages", "1,100", "--github", "acme/app"}, "--tag", "v2.0")...); code != 2 {
		t.Errorf("--stages --github without --keys and --origin: exit %d, want 2: %s", code, errOut)
	}
	code, out, errOut := runFerry(t, append([]string{"rollout", "--db", db, "--stages", "1,100", "--keys", keyDir, "--origin", origin}, gh...)...)
	if code != 0 || !strings.Contains(out, "uploaded") {
		t.Fatalf("rollout --stages --github: exit %d\n%s%s", code, out, errOut)
	}
	got, ok := srv.Asset("v2.0", "channels_stable.note")
	if !ok || !strings.Contains(string(got), "rollout-doc 1\n") || !strings.Contains(string(got), "rollout 1\n") {
		t.Errorf("pointer asset on v2.0 after --stages --github: %q", got)
	}

	// ferry fleet serve --github puts the signed document on that release.
	tokens, ghToken := filepath.Join(dir, "tokens"), filepath.Join(dir, "gh-token")
	for name, data := range map[string]string{tokens: "tok-1234567890abcdef\n", ghToken: "ghp_x\n"} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var out2, err2 bytes.Buffer
	go func() {
		done <- ferryMain(ctx, []string{"fleet", "serve", "--addr", "127.0.0.1:0", "--db", db, "--token-file", tokens,
			"--github", "acme/app", "--github-token-file", ghToken, "--github-api", srv.URL, "--rollout-keys", keyDir, "--decide-every", "20ms"}, &out2, &err2)
	}()
	deadline := time.Now().Add(10 * time.Second)
	doc, ok := srv.Asset("v2.0", "rollouts_stable.note")
	for ; !ok && time.Now().Before(deadline); doc, ok = srv.Asset("v2.0", "rollouts_stable.note") {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if c := <-done; c != 0 {
		t.Errorf("fleet serve --github: exit %d: %s", c, err2.String())
	}
	if !ok || !strings.Contains(string(doc), "ferry-rollout 1\n") || !strings.Contains(string(doc), "percent 1\n") {
		t.Errorf("rollout document on v2.0 after fleet serve --github: %q, %v\n%s", doc, ok, err2.String())
	}
}
