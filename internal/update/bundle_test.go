package update

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/bundle"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/originsim"
	"github.com/ferry-ota/ferry/internal/trust"
)

// makeBundle makes the bundle between two published releases of sim, from
// the trees they were published from.
func makeBundle(t *testing.T, sim *originsim.Sim, oldV, newV string, trees ...originsim.Tree) []byte {
	t.Helper()
	byDigest := map[manifest.Digest][]byte{}
	for _, tr := range trees {
		for _, c := range tr {
			byDigest[sha256.Sum256([]byte(c))] = []byte(c)
		}
	}
	parse := func(v string) ([]byte, *manifest.Manifest) {
		note := sim.Get(layout.Manifest(v))
		text, err := trust.NoteText(note)
		if err != nil {
			t.Fatal(err)
		}
		m, err := manifest.ParseManifest(text, manifest.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return note, m
	}
	on, om := parse(oldV)
	nn, nm := parse(newV)
	b, _, err := bundle.Make(bundle.Input{OldNote: on, NewNote: nn, Old: om, New: nm,
		Content: func(d manifest.Digest) ([]byte, error) { return byDigest[d], nil }}, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBundle: a device one release behind gets the manifest and every
// changed file from the bundle alone; a bundle that is garbage, made for
// another release, tampered with, or whose base the device changed, is
// dropped (nothing of it stays in the downloads folder) and the device
// takes the per-file path to the same genuine release.
func TestBundle(t *testing.T) {
	t.Parallel()
	v3 := originsim.Tree{"main.py": "print(3)\n", "lib/util.py": "def f(): pass\n", "run.sh": "#!/bin/sh\n"}
	for _, tc := range []struct {
		name   string
		bundle func(sim *originsim.Sim, good []byte) []byte
		before func(d *device) // on the device before the update
		used   bool
	}{
		{name: "genuine", bundle: func(_ *originsim.Sim, good []byte) []byte { return good }, used: true},
		{name: "garbage", bundle: func(*originsim.Sim, []byte) []byte { return []byte("FBDL\x01\x00garbage") }},
		{name: "tampered", bundle: func(_ *originsim.Sim, good []byte) []byte {
			b := []byte(strings.Clone(string(good)))
			b[len(b)-3] ^= 0x40
			return b
		}},
		{name: "another release", bundle: func(sim *originsim.Sim, _ []byte) []byte {
			sim.Publish(originsim.Release{Version: "3.0"}, v3)
			b := makeBundle(t, sim, "1.0", "3.0", v1, v3)
			sim.Publish(originsim.Release{Version: "2.0"}, v2) // the channel offers 2.0 again
			return b
		}},
		{name: "base changed on the device", bundle: func(_ *originsim.Sim, good []byte) []byte { return good },
			before: func(d *device) {
				if err := os.WriteFile(filepath.Join(d.target, "main.py"), []byte("print('local edit')\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, d := installedV1(t)
			oldNote := sim.Get(layout.Manifest("1.0"))
			sim.Publish(originsim.Release{Version: "2.0"}, v2)
			b := tc.bundle(sim, makeBundle(t, sim, "1.0", "2.0", v1, v2))
			newNote := sim.Get(layout.Manifest("2.0"))
			path := layout.Bundle(sha256.Sum256(oldNote), sha256.Sum256(newNote))
			sim.Put(path, b)
			if tc.before != nil {
				tc.before(d)
			}
			before, _ := sim.Requests()
			res := d.mustRun(t)
			if !sameTree(d.files(t), v2) {
				t.Fatalf("target after the update: %v", d.files(t))
			}
			reqs, _ := sim.Requests()
			reqs = reqs[len(before):]
			if !contains(reqs, path) {
				t.Fatalf("bundle not asked for: %v", reqs)
			}
			perFile := false // the manifest, a patch or a blob was fetched
			for _, r := range reqs {
				perFile = perFile || r == layout.Manifest("2.0") || strings.HasSuffix(r, ".patch") || strings.HasPrefix(r, "blobs/")
			}
			if perFile == tc.used {
				t.Fatalf("bundle used = %v, want %v (%s): %v", !perFile, tc.used, res, reqs)
			}
			left, _ := os.ReadDir(filepath.Join(d.opt.Installer.State, "downloads"))
			if len(left) != 0 {
				t.Fatalf("downloads folder holds %d files after the update", len(left))
			}
		})
	}
}

// TestBundleHostileNetwork: faults on the bundle's download never fail the
// update: a dropped connection resumes and the bundle is used; a flipped
// byte, an endless body or an origin that keeps failing send the device
// down the per-file path to the same release.
func TestBundleHostileNetwork(t *testing.T) {
	t.Parallel()
	big := make([]byte, 256<<10)
	rand.Read(big)
	v2big := originsim.Tree{"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "big.bin": string(big), "run.sh": "#!/bin/sh\n"}
	for _, tc := range []struct {
		name   string
		faults []faultnet.Fault
		used   bool
		fired  int // faults that strike: 1 + http_retries (2) at most
	}{
		{"connection dropped mid-body", []faultnet.Fault{faultnet.Drop(100 << 10)}, true, 1},
		{"byte flipped", []faultnet.Fault{faultnet.Flip(5000)}, false, 1},
		{"endless body", []faultnet.Fault{faultnet.Endless()}, false, 1},
		{"500 until the retries run out", repeat(faultnet.Status(500, ""), 4), false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim, d := installedV1(t)
			oldNote := sim.Get(layout.Manifest("1.0"))
			m := sim.Publish(originsim.Release{Version: "2.0"}, v2big)
			path := layout.Bundle(sha256.Sum256(oldNote), sha256.Sum256(sim.Get(layout.Manifest("2.0"))))
			sim.Put(path, makeBundle(t, sim, "1.0", "2.0", v1, v2big))

			net := d.overFaultnet(t, sim)
			net.Plan(path, tc.faults...)

			if _, err := Run(context.Background(), d.opt); err != nil {
				t.Fatalf("a fault on the bundle failed the update: %v", err)
			}
			if got := d.files(t); !sameTree(got, v2big) {
				t.Fatal("the target is not exactly 2.0")
			}
			f, _ := m.Lookup("big.bin")
			blob := false
			for _, e := range net.Log() {
				blob = blob || e.Path == "/"+layout.Blob(f.SHA256)
			}
			if blob == tc.used {
				t.Fatalf("bundle used = %v, want %v", !blob, tc.used)
			}
			if got := net.Fired(path); got != tc.fired {
				t.Fatalf("%d faults struck the bundle, want %d", got, tc.fired)
			}
		})
	}
}
