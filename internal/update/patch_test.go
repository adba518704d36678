package update

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/ferry-ota/ferry/internal/delta/deltagen"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/originsim"
)

// TestHostilePatches: patches are untrusted until their output's hash
// matches the signed one. Garbage patches, and well-formed patches that make
// the wrong content (for a file and for the manifest), are each dropped and
// the full blob or note fetched: the device ends on the genuine release.
func TestHostilePatches(t *testing.T) {
	t.Parallel()
	diff := func(old, new []byte) []byte {
		var b bytes.Buffer
		if err := deltagen.Diff(old, new, &b, deltagen.Options{}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for name, evil := range map[string]func(old, new []byte) []byte{
		"garbage":         func(old, new []byte) []byte { return []byte("FDLT\x01\x00garbage") },
		"wrong content":   func(old, new []byte) []byte { return diff(old, append(bytes.Clone(new), "evil\n"...)) },
		"truncated patch": func(old, new []byte) []byte { p := diff(old, new); return p[:len(p)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sim := originsim.New(t)
			m1 := sim.Publish(originsim.Release{Version: "1.0"}, v1)
			d := newDevice(t, sim)
			d.mustRun(t)
			oldNote := sim.Get(layout.Manifest("1.0"))
			m2 := sim.Publish(originsim.Release{Version: "2.0"}, v2)
			newNote := sim.Get(layout.Manifest("2.0"))
			sim.Put(layout.Delta(sha256.Sum256(oldNote), sha256.Sum256(newNote)), evil(oldNote, newNote))
			f1, _ := m1.Lookup("main.py")
			f2, _ := m2.Lookup("main.py")
			sim.Put(layout.Delta(f1.SHA256, f2.SHA256), evil([]byte(v1["main.py"]), []byte(v2["main.py"])))
			res := d.mustRun(t)
			if !sameTree(d.files(t), v2) {
				t.Fatalf("target after hostile patches: %v", d.files(t))
			}
			reqs, _ := sim.Requests()
			if !contains(reqs, layout.Manifest("2.0")) || !contains(reqs, layout.Blob(f2.SHA256)) {
				t.Fatalf("did not fall back to the full note and blob (%s): %v", res, reqs)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
