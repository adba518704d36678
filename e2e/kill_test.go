package e2e

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var killIterations = flag.Int("kill-iterations", 50, "SIGKILL iterations of TestKillDuringUpdate")

// bigTree makes a release of n files of about size bytes each, seeded, so
// that an update takes long enough to be killed at many instants.
func bigTree(seed uint64, n, size int) tree {
	r := rand.New(rand.NewPCG(seed, 7))
	t := tree{}
	for i := range n {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		name := fmt.Sprintf("d%02d/f%03d.txt", i%10, i)
		if i%7 == 0 {
			name = fmt.Sprintf("bin/tool%03d.sh", i)
		}
		t[name] = string(b)
	}
	return t
}

// TestKillDuringUpdate runs the real `ferry-agent update` against a real
// origin, kills it with SIGKILL after a random delay spread over the whole
// length of an update, runs `ferry-agent recover`, and checks that the target
// holds exactly 1.0 or exactly 2.0 and that status agrees; then the update
// must complete. (A kill is not a power cut: the page cache survives. Power
// cuts are proven exhaustively in internal/install.)
func TestKillDuringUpdate(t *testing.T) {
	t.Parallel()
	killLoop(t, newWorld(t), "inplace")
}

// TestKillDuringUpdateSlots is the same SIGKILL loop on the slots layout:
// the target must also stay a link to a slot.
func TestKillDuringUpdateSlots(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.config("layout = \"slots\"\n")
	killLoop(t, w, "slots")
}

func killLoop(t *testing.T, w *world, layout string) {
	old, new := bigTree(1, 120, 8<<10), bigTree(2, 120, 8<<10)
	for p, c := range old { // half the files unchanged, some deleted, some added
		if len(p)%2 == 0 {
			new[p] = c
		}
	}
	w.release("1.0", old)
	w.release("2.0", new)
	// A device at 1.0, saved as a template to restore before each iteration.
	w.writeOrigin("channels/stable.note.2", w.readOrigin("channels/stable.note"))
	w.release1Pointer()
	if r := w.update(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	w.writeOrigin("channels/stable.note", w.readOrigin("channels/stable.note.2"))
	template := filepath.Join(w.dir, "template")
	copyDir(t, filepath.Dir(w.target), template)

	start := time.Now()
	if r := w.update(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	full := time.Since(start)
	wantOld, wantNew := want(old), want(new)
	outcomes := map[string]int{}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range *killIterations {
		os.RemoveAll(filepath.Dir(w.target))
		copyDir(t, template, filepath.Dir(w.target))
		delay := time.Duration(r.Int64N(int64(full) * 6 / 5))
		cmd := exec.Command(filepath.Join(bin, "ferry-agent"), "update", "--config", w.cfg)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		mustRun(t, "ferry-agent", "recover", "--config", w.cfg)
		got := readTree(t, w.target)
		st := mustRun(t, "ferry-agent", "status", "--config", w.cfg)
		switch {
		case sameMap(got, wantNew) && strings.Contains(st, "installed:   2.0"):
			outcomes["2.0"]++
		case sameMap(got, wantOld) && strings.Contains(st, "installed:   1.0"):
			outcomes["1.0"]++
		default:
			t.Fatalf("iteration %d (kill after %v of %v): target is neither 1.0 nor 2.0 with a matching record:\n%s", i, delay, full, st)
		}
		if !strings.Contains(st, "in flight:   none") {
			t.Fatalf("iteration %d: transaction in flight after recover:\n%s", i, st)
		}
		if fi, err := os.Lstat(w.target); err != nil || (fi.Mode()&os.ModeSymlink != 0) != (layout == "slots") {
			t.Fatalf("iteration %d: target %v (%v) in the %s layout", i, fi, err, layout)
		}
		if r := w.update(); r.code != 0 || !sameMap(readTree(t, w.target), wantNew) {
			t.Fatalf("iteration %d: update after recovery: %q %q", i, r.stdout, r.stderr)
		}
	}
	t.Logf("%s layout: %d SIGKILLs over a %v update: %d left 1.0, %d left 2.0; every one recovered and then completed", layout, *killIterations, full, outcomes["1.0"], outcomes["2.0"])
}

// release1Pointer points the channel back at 1.0 by republishing nothing:
// it re-signs 1.0's pointer with sequence 1 so a fresh device installs 1.0.
func (w *world) release1Pointer() { w.writeOrigin("channels/stable.note", w.signedPointer("1.0", 1)) }

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v %s", src, dst, err, out)
	}
}
