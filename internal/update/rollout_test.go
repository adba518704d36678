package update

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/ferry-ota/ferry/internal/trust"
)

// fleetSetup: 1.0 installed; the list names a refresh key and the fleet
// service's rollout key for stable; 2.0 is published and its pointer
// re-signed by the release key at 0% with "rollout-doc 1", as `ferry
// rollout --stages` does.
func fleetSetup(t *testing.T) (sim *originsim.Sim, d *device, refresh, fleet originsim.Key) {
	t.Helper()
	sim, d = installedV1(t)
	refresh, fleet = originsim.NewKey(t, "ferry-refresh-1"), originsim.NewKey(t, "ferry-rollout-stable-1")
	sim.PublishKeyList(sim.Root, sim.Now.Add(365*24*time.Hour), sim.Signing.Listed(),
		refresh.Listed(trust.RoleRefresh), fleet.Listed(trust.RoleRollout("stable")))
	sim.Publish(originsim.Release{Version: "2.0"}, v2)
	p := pointerOf(t, sim)
	p.Rollout, p.RolloutDoc = 0, true
	text, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sim.Put(layout.Channel("stable"), sign(t, text, sim.Signing))
	return sim, d, refresh, fleet
}

func pointerOf(t *testing.T, sim *originsim.Sim) *manifest.Pointer {
	t.Helper()
	text, err := trust.NoteText(sim.Get(layout.Channel("stable")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := manifest.ParsePointer(text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sign(t *testing.T, text []byte, k originsim.Key) []byte {
	t.Helper()
	msg, err := trust.Sign(text, k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// putDoc writes the rollout document for the channel's current pointer,
// changed by edit, signed by k.
func putDoc(t *testing.T, sim *originsim.Sim, k originsim.Key, edit func(*manifest.RolloutDoc)) {
	t.Helper()
	p := pointerOf(t, sim)
	doc := &manifest.RolloutDoc{Channel: p.Channel, Version: p.Version, Sequence: p.Sequence, Manifest: p.Manifest,
		Percent: 100, Issued: sim.Now, Expires: sim.Now.Add(48 * time.Hour)}
	if edit != nil {
		edit(doc)
	}
	text, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sim.Put(layout.RolloutDoc("stable"), sign(t, text, k))
}

func deferred(t *testing.T, d *device, says string) {
	t.Helper()
	res, err := d.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deferred == "" || !strings.Contains(res.Deferred, says) {
		t.Fatalf("result %s, want deferred saying %q", res, says)
	}
	if !sameTree(d.files(t), v1) {
		t.Fatalf("target changed: %v", d.files(t))
	}
}

// TestRolloutDocGoverns: the device takes the governed release only under a
// fresh document by the rollout key that names it and is not halted.
func TestRolloutDocGoverns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  func(t *testing.T, sim *originsim.Sim, refresh, fleet originsim.Key)
		says string
	}{
		{"missing", func(*testing.T, *originsim.Sim, originsim.Key, originsim.Key) {}, "no rollout document rollouts/stable.note"},
		{"signed by the release key", func(t *testing.T, sim *originsim.Sim, _, _ originsim.Key) { putDoc(t, sim, sim.Signing, nil) }, "role rollout:stable"},
		{"signed by the refresh key", func(t *testing.T, sim *originsim.Sim, refresh, _ originsim.Key) { putDoc(t, sim, refresh, nil) }, "role rollout:stable"},
		{"halted", func(t *testing.T, sim *originsim.Sim, _, fleet originsim.Key) {
			putDoc(t, sim, fleet, func(d *manifest.RolloutDoc) { d.Halted, d.Reason = true, "failure rate 60% reaches 5%" })
		}, "halted by the fleet: failure rate 60% reaches 5%"},
		{"expired", func(t *testing.T, sim *originsim.Sim, _, fleet originsim.Key) {
			putDoc(t, sim, fleet, func(d *manifest.RolloutDoc) { d.Issued, d.Expires = sim.Now.Add(-3*time.Hour), sim.Now.Add(-time.Hour) })
		}, "expired"},
		{"another release", func(t *testing.T, sim *originsim.Sim, _, fleet originsim.Key) {
			putDoc(t, sim, fleet, func(d *manifest.RolloutDoc) { d.Version, d.Manifest = "1.0", sha256.Sum256([]byte("x")) })
		}, "names stable 1.0, the channel offers 2.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim, d, refresh, fleet := fleetSetup(t)
			c.doc(t, sim, refresh, fleet)
			deferred(t, d, c.says)
			deferred(t, d, c.says) // again, from the caches
			// The fleet service signs a good document: taken.
			putDoc(t, sim, fleet, nil)
			if res := d.mustRun(t); res.To != "2.0" || res.UpToDate || res.Deferred != "" {
				t.Fatalf("under a good document: %s", res)
			}
		})
	}
}

// TestHaltSparesInstalled: a device that installed the release before the
// halt keeps it (its own health gate decides), and polls on.
func TestHaltSparesInstalled(t *testing.T) {
	t.Parallel()
	sim, d, _, fleet := fleetSetup(t)
	putDoc(t, sim, fleet, nil)
	d.mustRun(t)
	putDoc(t, sim, fleet, func(d *manifest.RolloutDoc) { d.Halted, d.Reason = true, "bad" })
	if res := d.mustRun(t); !res.UpToDate || res.To != "2.0" {
		t.Fatalf("after the halt: %s", res)
	}
}

// TestRolloutKeySignsNothingElse: a manifest signed by the rollout key is
// refused (the pointer case is TestKeyRoles).
func TestRolloutKeySignsNothingElse(t *testing.T) {
	t.Parallel()
	sim, d, _, fleet := fleetSetup(t)
	sim.Publish(originsim.Release{Version: "3.0", Signer: &fleet}, v3)
	resign(t, sim, sim.Signing, sim.Now.Add(time.Hour))
	if _, err := d.run(t); !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "manifest.note") {
		t.Fatalf("err = %v, want ErrUntrusted on the manifest", err)
	}
	resign(t, sim, fleet, sim.Now.Add(time.Hour))
	if _, err := d.run(t); !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "stable.note") {
		t.Fatalf("err = %v, want ErrUntrusted on the pointer", err)
	}
}

// TestStageWidensTheFleet: 100 devices with the canary check; the document's
// percentage, not the pointer's 0, decides, and raising it only adds
// devices. A poll with nothing new costs two requests (pointer and
// document, both 304).
func TestStageWidensTheFleet(t *testing.T) {
	t.Parallel()
	sim, _, _, fleet := fleetSetup(t)
	const n = 100
	devs := make([]*device, n)
	for i := range devs {
		devs[i] = newDevice(t, sim)
		id := fmt.Sprintf("dev-%03d", i)
		devs[i].opt.Admit = func(p *manifest.Pointer) (bool, string) {
			return canary.Take(id, p.Version, p.Rollout), "bucket"
		}
	}
	took := map[int]bool{}
	for _, pct := range []int{10, 50, 100} {
		putDoc(t, sim, fleet, func(d *manifest.RolloutDoc) { d.Percent = pct })
		for i, d := range devs {
			res := d.mustRun(t)
			if res.Deferred == "" {
				took[i] = true
			}
		}
		if lo, hi := n*pct/100-n*15/100, n*pct/100+n*15/100; len(took) < lo || len(took) > hi {
			t.Fatalf("at %d%%: %d of %d devices have 2.0, want %d to %d", pct, len(took), n, lo, hi)
		}
	}
	before, _ := sim.Requests()
	if res := devs[0].mustRun(t); !res.UpToDate {
		t.Fatalf("%s", res)
	}
	if after, _ := sim.Requests(); len(after)-len(before) != 1 {
		t.Fatalf("an up-to-date poll made %d requests: %v", len(after)-len(before), after[len(before):])
	}
}

// TestDeferredPollCost: a device waiting at a stage pays the pointer and
// the document, both 304, per poll.
func TestDeferredPollCost(t *testing.T) {
	t.Parallel()
	sim, d, _, fleet := fleetSetup(t)
	putDoc(t, sim, fleet, func(d *manifest.RolloutDoc) { d.Percent = 0 })
	d.opt.Admit = func(p *manifest.Pointer) (bool, string) { return p.Rollout == 100, fmt.Sprintf("at %d%%", p.Rollout) }
	deferred(t, d, "at 0%")
	before, bytes := sim.Requests()
	deferred(t, d, "at 0%")
	after, bytes2 := sim.Requests()
	if got := after[len(before):]; len(got) != 2 || bytes2 != bytes {
		t.Fatalf("a waiting poll: requests %v, %d body bytes; want the pointer and the document, no body", got, bytes2-bytes)
	}
}
