package mpyvec

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/mpyrun"
)

// MaxTrustHeap caps the live heap the chain-of-trust check uses above its
// imported modules: the whole update must fit in 64 KB (issue #14),
// downloads and install included, and the modules themselves take space.
const MaxTrustHeap = 20 << 10

// TestHeap measures the peak live heap of checking a 200-file release's
// chain of trust in MicroPython (micropython/tests/heap_trust.py): key list,
// pointer, the manifest's signature streamed from flash, and its entries.
func TestHeap(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	dir := t.TempDir()
	r1, s1 := gen(t, "ferry-root-1"), gen(t, "ferry-signing-1")
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, dir, "now.txt", []byte(fmt.Sprint(now.Unix())))
	write(t, dir, "root.pub", []byte("# threshold 1\n"+r1.vkey+"\n"))
	write(t, dir, "keys.note", sign(t, "ferry-signing-keys 2\nexpires 2028-11-30T00:00:00Z\nversion 3\nkey "+s1.vkey+"\n", r1))
	m := sign(t, string(manifestText(t, 200)), s1)
	write(t, dir, "manifest.note", m)
	p := &manifest.Pointer{Channel: "stable", Version: "1.4.0", Sequence: 7, Manifest: sha256.Sum256(m),
		ManifestSize: int64(len(m)), Expires: now.Add(7 * 24 * time.Hour), Rollout: 100}
	pt, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "pointer.note", sign(t, string(pt), s1))
	src, err := os.ReadFile(filepath.Join(r.Root, "micropython", "tests", "heap_trust.py"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "heap_trust.py", src)

	// --async: heap_trust.py awaits before each measurement, returning to
	// JavaScript, where this port collects garbage.
	res := r.Command(t, r.Node, filepath.Join(r.RunnerDir(), "exec.mjs"), "--async", filepath.Join(dir, "heap_trust.py"), "/test")
	if res.Code != 0 {
		t.Fatalf("heap_trust.py: %s", res)
	}
	out := res.Stdout
	t.Log(out)
	mm := regexp.MustCompile(`peak live heap: \d+ bytes \((\d+) above the imported modules\)`).FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("no peak in the output:\n%s", out)
	}
	if peak, _ := strconv.Atoi(mm[1]); peak > MaxTrustHeap {
		t.Errorf("peak live heap above the modules %d bytes, over %d", peak, MaxTrustHeap)
	}
}
