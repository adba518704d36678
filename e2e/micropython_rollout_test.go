package e2e

// Issue #16 on the MicroPython board: a pointer with "rollout-doc 1" (as
// `ferry rollout --stages` writes it) hands the stage to the channel's
// rollout document, rollouts/stable.note, signed by the fleet service's key
// of role rollout:stable (`ferry keys add-rollout`). The board must not take
// a halted release, must take nothing while the document is missing or
// signed by another key, and takes the release when the document's percent
// admits its canary bucket.

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// rolloutWorld: a board holding 1.0, and 2.0 published under a staged
// rollout at 1% whose stage the rollout document governs. The board's
// device id is one whose canary bucket for 2.0 is not under 1%, so the
// pointer's own percent would never admit it.
func rolloutWorld(t *testing.T) (*world, *board, int) {
	t.Helper()
	w := newWorld(t)
	mustRun(t, "ferry", "keys", "add-rollout", "--keys", w.keys, "--channel", "stable")
	id, b := "", -1
	for i := 0; b < 1; i++ {
		id = fmt.Sprintf("board-%d", i)
		b = canary.Bucket(id, "2.0")
	}
	bd := newBoard(t, w, map[string]any{"device_id": id})
	w.release("1.0", v1, forBoth...)
	bd.updated("(none)", "1.0", len(v1))
	w.release("2.0", v2, forBoth...)
	mustRun(t, "ferry", "rollout", "--channel", "stable", "--db", filepath.Join(w.dir, "fleet.db"), "--stages", "1,100",
		"--every", "6h", "--keys", w.keys, "--origin", w.origin)
	p := originPointer(t, w)
	if !p.RolloutDoc || p.Rollout != 1 || p.Version != "2.0" {
		t.Fatalf("pointer after ferry rollout --stages: %+v, want 2.0 at 1%% with rollout-doc 1", p)
	}
	return w, bd, b
}

func originPointer(t *testing.T, w *world) *manifest.Pointer {
	t.Helper()
	msg, err := os.ReadFile(filepath.Join(w.origin, "channels", "stable.note"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := trust.NoteText(msg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := manifest.ParsePointer(text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// putRolloutDoc writes rollouts/stable.note for the origin's pointer,
// changed by edit, signed with sign (nil: the fleet's rollout key).
func putRolloutDoc(t *testing.T, w *world, edit func(*manifest.RolloutDoc), sign func([]byte) ([]byte, error)) {
	t.Helper()
	p := originPointer(t, w)
	now := time.Now().UTC().Truncate(time.Second)
	d := &manifest.RolloutDoc{Channel: p.Channel, Version: p.Version, Sequence: p.Sequence, Manifest: p.Manifest,
		Percent: 100, Issued: now, Expires: now.Add(48 * time.Hour)}
	if edit != nil {
		edit(d)
	}
	text, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if sign == nil {
		s, err := keys.LoadRollout(w.keys, "stable", now)
		if err != nil {
			t.Fatal(err)
		}
		sign = s.Sign
	}
	msg, err := sign(text)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(w.origin, "rollouts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stable.note"), msg, 0o644); err != nil {
		t.Fatal(err)
	}
}

// deferredOn runs an update that must defer saying says, with the flash's
// application files and installed record untouched.
func (b *board) deferredOn(says string) {
	b.t.Helper()
	before := b.files(true)
	rec := b.files(false)[".ferry/installed.json"]
	if !strings.Contains(rec, `"version": "1.0"`) && !strings.Contains(rec, `"version":"1.0"`) {
		b.t.Fatalf("installed record before the update: %q, want 1.0's", rec)
	}
	res := b.run("update")
	if res.Code != 0 || !strings.HasPrefix(res.Stdout, "deferred 2.0 (") || !strings.Contains(res.Stdout, says) {
		b.t.Fatalf("update: want deferred 2.0 saying %q; %s", says, res)
	}
	if d := diff(before, b.files(true)); len(d) != 0 {
		b.t.Fatalf("a deferred update changed the flash: %v", d)
	}
	if got := b.files(false)[".ferry/installed.json"]; got != rec {
		b.t.Fatalf("installed record changed: %q -> %q", rec, got)
	}
}

// TestMicroPythonRolloutHalt: missing, forged, halted, another release's,
// then a percent at and above the board's bucket; only the last is taken,
// and a halt after that leaves the board up to date.
func TestMicroPythonRolloutHalt(t *testing.T) {
	t.Parallel()
	w, b, bucket := rolloutWorld(t)
	os.Remove(filepath.Join(w.origin, "rollouts", "stable.note"))
	b.deferredOn("no rollout document rollouts/stable.note: waiting for the fleet service")

	signKey := func(text []byte) ([]byte, error) {
		matches, _ := filepath.Glob(filepath.Join(w.keys, "signing-*.key"))
		if len(matches) == 0 {
			t.Fatal("no signing key in the key folder")
		}
		k, err := os.ReadFile(matches[0])
		if err != nil {
			t.Fatal(err)
		}
		return trust.Sign(text, strings.TrimSpace(string(k)))
	}
	putRolloutDoc(t, w, nil, signKey) // the release key may not decide a stage
	b.deferredOn("only keys of role rollout:stable sign it")

	putRolloutDoc(t, w, func(d *manifest.RolloutDoc) { d.Halted, d.Reason = true, "failure rate 60% reaches 5%" }, nil)
	b.deferredOn("halted by the fleet: failure rate 60% reaches 5%")
	b.deferredOn("halted by the fleet: failure rate 60% reaches 5%") // again, from the cache (a 304)

	putRolloutDoc(t, w, func(d *manifest.RolloutDoc) {
		d.Version, d.Manifest = "1.0", sha256.Sum256([]byte("x"))
	}, nil)
	b.deferredOn("names stable 1.0, the channel offers 2.0")

	putRolloutDoc(t, w, func(d *manifest.RolloutDoc) { d.Percent = bucket }, nil)
	b.deferredOn(fmt.Sprintf("staged rollout at %d%%: this device's bucket is %d", bucket, bucket))

	putRolloutDoc(t, w, func(d *manifest.RolloutDoc) { d.Percent = bucket + 1 }, nil)
	b.updated("1.0", "2.0", 4)
	if got := b.files(true); len(diff(got, contents(v2))) != 0 {
		t.Fatalf("after 2.0: differs in %v", diff(got, contents(v2)))
	}
	// A board that holds the release is unaffected by a later halt.
	putRolloutDoc(t, w, func(d *manifest.RolloutDoc) {
		d.Halted, d.Reason, d.Issued = true, "late halt", d.Issued.Add(time.Second)
	}, nil)
	if res := b.run("update"); res.Code != 0 || strings.TrimSpace(res.Stdout) != "up to date (2.0)" {
		t.Fatalf("update after a halt of the release held: want \"up to date (2.0)\"; %s", res)
	}
}
