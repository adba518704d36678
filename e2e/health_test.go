package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthGateRollsBack: a release whose health check fails is rolled back
// by `ferry-agent update`, recorded as failed and not retried; the next good
// release installs.
func TestHealthGateRollsBack(t *testing.T) {
	t.Parallel()
	healthGate(t, "")
}

// TestHealthGateRollsBackSlots: the same on the slots layout, where the
// rollback flips the link back.
func TestHealthGateRollsBackSlots(t *testing.T) {
	t.Parallel()
	healthGate(t, "layout = \"slots\"\n")
}

func healthGate(t *testing.T, extra string) {
	w := newWorld(t)
	w.config(extra + fmt.Sprintf("health_command = \"grep -q healthy %s\"\nhealth_timeout_sec = 1\n", filepath.Join(w.target, "state.txt")))
	good := func(v string) tree { return tree{"main.py": "print(" + v + ")\n", "state.txt": "healthy\n"} }
	w.release("1.0", good("1"))
	if r := w.update(); r.code != 0 {
		t.Fatalf("1.0: %s", r.stderr)
	}
	w.release("2.0", tree{"main.py": "print(2)\n", "state.txt": "broken\n"})
	r := w.update()
	if r.code == 0 || !strings.Contains(r.stderr, "rolled back") {
		t.Fatalf("unhealthy 2.0: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := readTree(t, w.target); !sameMap(got, want(good("1"))) {
		t.Fatalf("after the rollback the target is %v", got)
	}
	st := mustRun(t, "ferry-agent", "status", "--config", w.cfg)
	if !strings.Contains(st, "installed:   1.0") || !strings.Contains(st, "2.0") {
		t.Fatalf("status after rollback:\n%s", st)
	}
	if r := w.update(); r.code != 0 || !strings.Contains(r.stdout, "2.0") || readTree(t, w.target)["state.txt"] != want(good("1"))["state.txt"] {
		t.Fatalf("2.0 retried: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	w.release("3.0", good("3"))
	if r := w.update(); r.code != 0 || !strings.HasPrefix(r.stdout, "updated 1.0 -> 3.0") {
		t.Fatalf("3.0: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := readTree(t, w.target); !sameMap(got, want(good("3"))) {
		t.Fatalf("after 3.0 the target is %v", got)
	}
}
