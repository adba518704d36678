package update

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/ferry-ota/ferry/internal/trust"
)

// keyRequests returns the signing-key list requests made since before.
func keyRequests(sim *originsim.Sim, before []string) []string {
	after, _ := sim.Requests()
	var keys []string
	for _, p := range after[len(before):] {
		if strings.HasPrefix(p, "keys/") {
			keys = append(keys, p)
		}
	}
	return keys
}

// TestNamedKeysNoRequest: a pointer that names the list the device holds
// costs no key-list request; one that names a newer list makes the device
// fetch it (and record its version).
func TestNamedKeysNoRequest(t *testing.T) {
	t.Parallel()
	sim, d := installedV1(t)
	before, _ := sim.Requests()
	sim.Publish(originsim.Release{Version: "2.0"}, v2)
	if res := d.mustRun(t); res.To != "2.0" || res.UpToDate {
		t.Fatalf("2.0 not installed: %s", res)
	}
	if got := keyRequests(sim, before); len(got) != 0 {
		t.Fatalf("an update under the held list requested %v, want no key-list request", got)
	}
	sim.PublishKeys(sim.Root, sim.Now.Add(365*24*time.Hour), sim.Signing) // version 2
	sim.Publish(originsim.Release{Version: "3.0"}, v3)
	before, _ = sim.Requests()
	if res := d.mustRun(t); res.To != "3.0" {
		t.Fatalf("3.0 not installed: %s", res)
	}
	if got := keyRequests(sim, before); !slices.Equal(got, []string{layout.SigningKeys2}) {
		t.Fatalf("a pointer naming a list the device lacks: requests %v, want one of %s", got, layout.SigningKeys2)
	}
	if v, err := TrustedKeys(d.opt.Installer); err != nil || v != 2 {
		t.Fatalf("TrustedKeys = %d, %v; want 2", v, err)
	}
}

// TestNamedKeysMismatch: a pointer, validly signed, that names a list other
// than the one that verifies it is refused, whether the device held the
// verifying list or fetched it, and nothing is installed.
func TestNamedKeysMismatch(t *testing.T) {
	t.Parallel()
	other := manifest.KeysRef{Version: 1, SHA256: sha256.Sum256([]byte("another list"))}
	t.Run("held list", func(t *testing.T) {
		t.Parallel()
		sim, d := installedV1(t)
		sim.Publish(originsim.Release{Version: "2.0", Keys: other}, v2)
		_, err := d.run(t)
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "names signing-key list version 1") {
			t.Fatalf("err = %v, want ErrMismatch naming the list", err)
		}
		if !sameTree(d.files(t), v1) {
			t.Fatalf("target changed: %v", d.files(t))
		}
	})
	t.Run("fresh device", func(t *testing.T) {
		t.Parallel()
		sim := originsim.New(t)
		sim.Publish(originsim.Release{Version: "1.0", Keys: other}, v1)
		d := newDevice(t, sim)
		if _, err := d.run(t); !errors.Is(err, ErrMismatch) {
			t.Fatalf("err = %v, want ErrMismatch", err)
		}
		if len(d.files(t)) != 0 {
			t.Fatalf("installed %v", d.files(t))
		}
	})
}

// TestNamedKeysHeldListExpires: the held list is verified at every use, so
// a pointer that names it once it expired is refused without a request
// that would have shown it.
func TestNamedKeysHeldListExpires(t *testing.T) {
	t.Parallel()
	sim := originsim.New(t)
	sim.PublishKeys(sim.Root, sim.Now.Add(30*24*time.Hour), sim.Signing)
	sim.Publish(originsim.Release{Version: "1.0"}, v1)
	d := newDevice(t, sim)
	d.mustRun(t)
	sim.Now = sim.Now.Add(31 * 24 * time.Hour)
	sim.Publish(originsim.Release{Version: "2.0"}, v2)
	before, _ := sim.Requests()
	if _, err := d.run(t); !errors.Is(err, trust.ErrExpired) {
		t.Fatalf("err = %v, want trust.ErrExpired", err)
	}
	if got := keyRequests(sim, before); len(got) != 0 {
		t.Fatalf("requests %v: the held list was named, no request expected", got)
	}
	if !sameTree(d.files(t), v1) {
		t.Fatalf("target changed: %v", d.files(t))
	}
}
