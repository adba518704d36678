package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSlotsThroughTheBinaries: an in-place device is converted to the slots
// layout, updated (unchanged files hard-linked), rolled back by hand after
// the update was confirmed (the release left is not installed again), then
// updated to a newer release and converted back, all through the real
// binaries.
func TestSlotsThroughTheBinaries(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	v1 := tree{"main.py": "print(1)\n", "lib/util.py": "def f(): pass\n", "run.sh": "#!/bin/sh\n"}
	v2 := tree{"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "run.sh": "#!/bin/sh\n"}
	v3 := tree{"main.py": "print(3)\n", "lib/util.py": "def f(): pass\n"}
	w.release("1.0", v1)
	if r := w.update(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := mustRun(t, "ferry-agent", "convert", "--layout", "slots", "--config", w.cfg)
	if !strings.Contains(out, `set layout = "slots"`) {
		t.Fatalf("convert did not say to set the layout in the config: %q", out)
	}
	if r := w.update(); r.code == 0 || !strings.Contains(r.stderr, "layout") {
		t.Fatalf("an in-place config on a slots target: exit %d %q, want a refusal naming the layout", r.code, r.stderr)
	}
	w.config("layout = \"slots\"\n")
	w.release("2.0", v2)
	if r := w.update(); r.code != 0 || !strings.HasPrefix(r.stdout, "updated 1.0 -> 2.0") {
		t.Fatalf("2.0: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if dest, err := os.Readlink(w.target); err != nil || dest != "app.slot-b" {
		t.Fatalf("target links to %q (%v), want app.slot-b", dest, err)
	}
	a, _ := os.Stat(filepath.Join(w.target+".slot-a", "lib", "util.py"))
	b, _ := os.Stat(filepath.Join(w.target+".slot-b", "lib", "util.py"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Fatal("an unchanged file was copied into the new slot, not hard-linked")
	}
	if st := mustRun(t, "ferry-agent", "status", "--config", w.cfg); !strings.Contains(st, "slot b is current; 1.0 in slot a") {
		t.Fatalf("status does not tell the slots:\n%s", st)
	}
	out = mustRun(t, "ferry-agent", "rollback", "--config", w.cfg)
	if !strings.Contains(out, "rolled back 2.0 -> 1.0") || !sameMap(readTree(t, w.target), want(v1)) {
		t.Fatalf("rollback: %q, target %v", out, readTree(t, w.target))
	}
	if r := w.update(); r.code != 0 || !sameMap(readTree(t, w.target), want(v1)) {
		t.Fatalf("the release rolled back from was installed again: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	w.release("3.0", v3)
	if r := w.update(); r.code != 0 || !strings.HasPrefix(r.stdout, "updated 1.0 -> 3.0") {
		t.Fatalf("3.0: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	mustRun(t, "ferry-agent", "convert", "--layout", "inplace", "--config", w.cfg)
	w.config("")
	if fi, err := os.Lstat(w.target); err != nil || !fi.IsDir() || !sameMap(readTree(t, w.target), want(v3)) {
		t.Fatalf("after converting back: %v %v %v", fi, err, readTree(t, w.target))
	}
	st := mustRun(t, "ferry-agent", "status", "--config", w.cfg)
	if !strings.Contains(st, "installed:   3.0") {
		t.Fatalf("status after converting back:\n%s", st)
	}
}
