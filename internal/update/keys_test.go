package update

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/ferry-ota/ferry/internal/trust"
)

var v3 = originsim.Tree{"main.py": "print('owned')\n", "run.sh": "#!/bin/sh\n"}

// resign re-signs the channel's current pointer with key and a new expiry,
// as `ferry refresh` does.
func resign(t *testing.T, sim *originsim.Sim, key originsim.Key, expires time.Time) {
	t.Helper()
	text, err := trust.NoteText(sim.Get(layout.Channel("stable")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := manifest.ParsePointer(text)
	if err != nil {
		t.Fatal(err)
	}
	p.Expires = expires
	if text, err = p.Marshal(); err != nil {
		t.Fatal(err)
	}
	msg, err := trust.Sign(text, key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	sim.Put(layout.Channel("stable"), msg)
}

// rotated is issue #19's sequence up to the attack: release 1.0; the
// publisher retires the leaked ferry-signing-1 (`ferry keys rotate --retire
// ferry-signing-1`: list version 2 names ferry-signing-2 alone) and releases
// 2.0; the device installs 2.0. It returns the leaked key and the origin's
// key lists from before the rotation.
func rotated(t *testing.T) (*originsim.Sim, *device, originsim.Key, map[string][]byte) {
	t.Helper()
	sim, d := installedV1(t)
	before := sim.Snapshot()
	leaked := sim.Signing
	sim.Signing = originsim.NewKey(t, "ferry-signing-2")
	sim.PublishKeys(sim.Root, sim.Now.Add(365*24*time.Hour), sim.Signing)
	sim.Publish(originsim.Release{Version: "2.0"}, v2)
	if res := d.mustRun(t); res.To != "2.0" {
		t.Fatalf("2.0 not installed: %s", res)
	}
	return sim, d, leaked, before
}

// TestRotationCannotBeUndone: whoever holds the retired key and controls
// the origin serves the list from before the rotation and a 3.0 signed by
// the retired key alone: the device refuses it, whichever list it is
// served, also after a restart with its poll cache gone.
func TestRotationCannotBeUndone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		serve func(sim *originsim.Sim, old map[string][]byte)
		want  error
		msg   string
	}{
		{"old format-2 list", func(sim *originsim.Sim, old map[string][]byte) {
			sim.Put(layout.SigningKeys2, old[layout.SigningKeys2])
			sim.Put(layout.SigningKeys, old[layout.SigningKeys])
		}, trust.ErrRollback, "signing-key list version 1 is older than 2 already trusted"},
		{"old format-1 list, no format-2 list", func(sim *originsim.Sim, old map[string][]byte) {
			sim.Remove(layout.SigningKeys2)
			sim.Put(layout.SigningKeys, old[layout.SigningKeys])
		}, trust.ErrRollback, "already trusts signing-key list version 2"},
		{"old format-1 list served as format 2", func(sim *originsim.Sim, old map[string][]byte) {
			sim.Put(layout.SigningKeys2, old[layout.SigningKeys])
		}, trust.ErrFormat, "format-1 list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, d, leaked, old := rotated(t)
			tc.serve(sim, old)
			sim.Publish(originsim.Release{Version: "3.0", Signer: &leaked}, v3)
			for _, restart := range []bool{false, true} {
				if restart {
					os.Remove(filepath.Join(d.opt.Installer.State, "poll.json"))
				}
				_, err := d.run(t)
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("restart %v: err = %v\nwant %v saying %q", restart, err, tc.want, tc.msg)
				}
				if !sameTree(d.files(t), v2) {
					t.Fatalf("target changed: %v", d.files(t))
				}
			}
		})
	}
}

// TestKeyListRecord: the device records the newest list once, and a list of
// the same version with other keys is refused.
func TestKeyListRecord(t *testing.T) {
	t.Parallel()
	sim, d, leaked, _ := rotated(t)
	if v, err := TrustedKeys(d.opt.Installer); err != nil || v != 2 {
		t.Fatalf("TrustedKeys = %d, %v; want 2", v, err)
	}
	rec := filepath.Join(d.opt.Installer.State, TrustedFile)
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(rec, past, past)
	sim.Publish(originsim.Release{Version: "2.1"}, v1)
	d.mustRun(t)
	if fi, err := os.Stat(rec); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("%s rewritten by a cycle that saw the same list (%v)", TrustedFile, err)
	}
	sim.KeysVersion-- // the root keys sign another version 2
	sim.PublishKeys(sim.Root, sim.Now.Add(time.Hour), sim.Signing, leaked)
	sim.Publish(originsim.Release{Version: "3.0"}, v3)
	if _, err := d.run(t); !errors.Is(err, trust.ErrConflict) {
		t.Fatalf("same version, other list: %v, want trust.ErrConflict", err)
	}
	if !sameTree(d.files(t), v1) {
		t.Fatalf("target changed: %v", d.files(t))
	}
}

// TestKeyRoles: a refresh key re-signs pointers, and nothing else; a key
// whose only role the agent does not know signs nothing.
func TestKeyRoles(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) (*originsim.Sim, *device, originsim.Key, originsim.Key) {
		sim, d := installedV1(t)
		refresh, fleet := originsim.NewKey(t, "ferry-refresh-1"), originsim.NewKey(t, "ferry-rollout-1")
		sim.PublishKeyList(sim.Root, sim.Now.Add(365*24*time.Hour), sim.Signing.Listed(),
			refresh.Listed(trust.RoleRefresh), fleet.Listed("rollout:stable"))
		return sim, d, refresh, fleet
	}
	t.Run("refresh key signs a manifest", func(t *testing.T) {
		t.Parallel()
		sim, d, refresh, _ := setup(t)
		sim.Publish(originsim.Release{Version: "2.0", Signer: &refresh}, v2)
		_, err := d.run(t)
		if !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "manifest.note") || !strings.Contains(err.Error(), "role release") {
			t.Fatalf("err = %v, want ErrUntrusted on the manifest naming role release", err)
		}
		if !sameTree(d.files(t), v1) {
			t.Fatalf("target changed: %v", d.files(t))
		}
	})
	t.Run("unknown role signs a pointer", func(t *testing.T) {
		t.Parallel()
		sim, d, _, fleet := setup(t)
		sim.Publish(originsim.Release{Version: "2.0"}, v2)
		resign(t, sim, fleet, sim.Now.Add(time.Hour))
		if _, err := d.run(t); !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "stable.note") {
			t.Fatalf("err = %v, want ErrUntrusted on the pointer", err)
		}
	})
	t.Run("refresh-signed pointer", func(t *testing.T) {
		t.Parallel()
		sim, d, refresh, _ := setup(t)
		sim.Publish(originsim.Release{Version: "2.0", Expires: sim.Now.Add(7 * 24 * time.Hour)}, v2)
		resign(t, sim, refresh, sim.Now.Add(14*24*time.Hour))
		if res := d.mustRun(t); res.To != "2.0" || res.UpToDate {
			t.Fatalf("release under a refreshed pointer: %s", res)
		}
		// Ten days later the release key's pointer would have expired; the
		// cron's refresh keeps the device polling without errors.
		sim.Now = sim.Now.Add(10 * 24 * time.Hour)
		if res := d.mustRun(t); res.String() != "up to date (2.0)" {
			t.Fatalf("after the release pointer's expiry: %s", res)
		}
		// Without the refresh, the expired pointer is refused: never installed.
		sim.Now = sim.Now.Add(5 * 24 * time.Hour)
		if _, err := d.run(t); !errors.Is(err, ErrFrozen) {
			t.Fatalf("expired refreshed pointer: %v, want ErrFrozen", err)
		}
	})
}

// TestRootThreshold: a list signed by fewer root keys than the threshold
// is refused; with enough it is taken.
func TestRootThreshold(t *testing.T) {
	t.Parallel()
	sim := originsim.New(t)
	root2 := originsim.NewKey(t, "ferry-root-2")
	pub := "# threshold 2\n" + sim.Root.Public + "\n" + root2.Public + "\n"
	roots, err := trust.ParseRoots([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	d := newDevice(t, sim)
	d.opt.Roots = roots
	if _, err := d.run(t); !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "1 trusted signatures, 2 required") {
		t.Fatalf("list with 1 of 2 root signatures: %v", err)
	}
	text, _ := trust.NoteText(sim.Get(layout.SigningKeys2))
	both, err := trust.Sign(text, sim.Root.Secret, root2.Secret)
	if err != nil {
		t.Fatal(err)
	}
	sim.Put(layout.SigningKeys2, both)
	// The publisher's next pointer names the re-signed list.
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	if res, err := Run(context.Background(), d.opt); err != nil || res.To != "1.0" {
		t.Fatalf("list with 2 of 2 root signatures: %v, %v", res, err)
	}
}
