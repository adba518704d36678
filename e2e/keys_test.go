package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/trust"
)

// TestRotationCannotBeUndone is issue #19's sequence through the real
// binaries: release 1.0; ferry-signing-1 leaks; the publisher runs `ferry
// keys rotate --retire ferry-signing-1` and releases 2.0; the device
// installs 2.0. Whoever holds the leaked key and the origin serves the old
// signing-key lists and a 3.0 signed by ferry-signing-1 alone: the device
// refuses it and keeps 2.0.
func TestRotationCannotBeUndone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.release("1.0", v1)
	if r := w.update(); r.code != 0 {
		t.Fatal(r.stderr)
	}
	oldLists := map[string][]byte{layout.SigningKeys: w.readOrigin(layout.SigningKeys), layout.SigningKeys2: w.readOrigin(layout.SigningKeys2)}
	leaked := w.signingKey() // signing-1.key
	mustRun(t, "ferry", "keys", "rotate", "--keys", w.keys, "--retire", "ferry-signing-1")
	w.release("2.0", v2)
	if r := w.update(); r.code != 0 || !strings.HasPrefix(r.stdout, "updated 1.0 -> 2.0") {
		t.Fatalf("2.0: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if st := mustRun(t, "ferry-agent", "status", "--config", w.cfg); !strings.Contains(st, "signing keys: list version 2") {
		t.Errorf("status lacks the trusted list version:\n%s", st)
	}
	for p, data := range oldLists {
		w.writeOrigin(p, data)
	}
	// 3.0: 1.0's main.py (its blob is on the origin), sequence 3, signed by
	// the leaked key alone.
	sum := sha256.Sum256([]byte(v1["main.py"]))
	blob := w.readOrigin(layout.Blob(sum))
	text := fmt.Sprintf("ferry-manifest 1\nchannel stable\nversion 3.0\nsequence 3\ncreated 2026-01-01T00:00:00Z\nexpires %s\nfiles 1\nf 0644 %d %d %x main.py\n",
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), len(v1["main.py"]), len(blob), sum)
	note, err := trust.Sign([]byte(text), leaked)
	if err != nil {
		t.Fatal(err)
	}
	w.writeOrigin(layout.Manifest("3.0"), note)
	w.writeOrigin(layout.Channel("stable"), w.signedPointer("3.0", 3))
	before := readTree(t, w.target)
	r := w.update()
	if r.code != 1 || !strings.Contains(r.stderr, "signing-key list version 1 is older than 2 already trusted") {
		t.Fatalf("exit %d, stdout %q, stderr %q: want exit 1 refusing the old signing-key list", r.code, r.stdout, r.stderr)
	}
	if after := readTree(t, w.target); !sameMap(before, after) || !sameMap(after, want(v2)) {
		t.Fatalf("target changed:\nbefore %v\nafter  %v", before, after)
	}
	// Without the format-2 list, the format-1 list is refused too.
	os.Remove(filepath.Join(w.origin, filepath.FromSlash(layout.SigningKeys2)))
	if r := w.update(); r.code != 1 || !strings.Contains(r.stderr, "already trusts signing-key list version 2") {
		t.Fatalf("format 1 only: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestRefreshCron: a pointer expires after its lifetime and the device
// refuses it (it never installs from an expired pointer); `ferry refresh`,
// run with a folder that holds only a refresh key (the cron machine's),
// re-signs it, and the device takes the release.
func TestRefreshCron(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mustRun(t, "ferry", "keys", "add-refresh", "--keys", w.keys)
	cron := filepath.Join(w.dir, "cron-keys")
	os.MkdirAll(cron, 0o700)
	for _, f := range []string{"root.pub", "signing-keys.note", "signing-keys-2.note", "refresh-1.key"} {
		data, err := os.ReadFile(filepath.Join(w.keys, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(cron, f), data, 0o600)
	}
	w.release("1.0", v1, "--pointer-lifetime", "1s")
	time.Sleep(1100 * time.Millisecond)
	if r := w.update(); r.code != 1 || !strings.Contains(r.stderr, "expired") {
		t.Fatalf("expired pointer: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := readTree(t, w.target); len(got) != 0 {
		t.Fatalf("installed from an expired pointer: %v", got)
	}
	out := mustRun(t, "ferry", "refresh", "--keys", cron, "--origin", w.origin)
	if !strings.Contains(out, "signed by [ferry-refresh-1]") {
		t.Fatalf("refresh: %q", out)
	}
	if r := w.update(); r.code != 0 || !strings.HasPrefix(r.stdout, "updated (none) -> 1.0") {
		t.Fatalf("after refresh: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}
