package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/store"
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
