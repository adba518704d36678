package mpyvec

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/mbundle"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/trust"
)

// TestMBundleVectors: update bundles made by the Go encoder (internal/
// mbundle), cut short and mutated (in the decoded command stream, then
// re-compressed with the board's window, and in the compressed bytes), each
// with the verdict of Go's reference decoder: "ok" (the note and the files'
// digests), "base" (a base file changed on the board: the per-file path) or
// "bad" (refused). micropython/tests/test_mbundle.py's ferry.mbundle.apply
// must reach the same verdict on every one.
func TestMBundleVectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := map[string]string{"main.py": pySource(1, 900), "lib/a.py": pySource(2, 3000), "lib/b.py": pySource(3, 1500), "old/x.py": pySource(4, 700)}
	new := map[string]string{"main.py": strings.Replace(old["main.py"], "state", "STATE", 2), "lib/a.py": old["lib/a.py"],
		"lib/b.py": old["lib/b.py"] + "\ndef more():\n    return 1\n", "new/x.py": old["old/x.py"], "lib/c.py": pySource(5, 1200)}
	contents := map[manifest.Digest][]byte{}
	oldNote, oldM := signedRelease(t, "1.0", 1, old, contents)
	newNote, newM := signedRelease(t, "2.0", 2, new, contents)
	write(t, dir, "old.note", oldNote)
	write(t, dir, "new.note", newNote)
	for p, c := range old {
		write(t, dir, "t/"+p, []byte(c))
		if p == "lib/b.py" {
			c = "edited on the board\n"
		}
		write(t, dir, "tc/"+p, []byte(c))
	}
	good, _, err := mbundle.Make(mbundle.Input{OldNote: oldNote, NewNote: newNote, Old: oldM, New: newM,
		Content: func(d manifest.Digest) ([]byte, error) { return contents[d], nil }}, mbundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := &bundleVectors{t: t, dir: dir, note: newNote}
	v.add("good", good, "t")
	v.add("changed-base", good, "tc")
	cmds := inflate(t, good)
	rng := rand.New(rand.NewPCG(14, 15))
	for i := range 120 {
		m := bytes.Clone(cmds)
		for k := rng.IntN(3); k >= 0; k-- {
			m[rng.IntN(len(m))] = byte(rng.Uint32())
		}
		v.add(fmt.Sprintf("cmd%d", i), deflateBoard(t, m), "t")
	}
	for i := range 20 {
		v.add(fmt.Sprintf("cmdcut%d", i), deflateBoard(t, cmds[:rng.IntN(len(cmds))]), "t")
		v.add(fmt.Sprintf("cut%d", i), good[:rng.IntN(len(good))], "t")
		z := bytes.Clone(good)
		z[rng.IntN(len(z))] ^= byte(1 + rng.IntN(255))
		v.add(fmt.Sprintf("flip%d", i), z, "t")
	}
	write(t, dir, "cases.txt", v.cases.Bytes())
	t.Logf("%d bundles: %v", v.n, v.verdicts)
	if v.verdicts["ok"] < 1 || v.verdicts["base"] < 1 || v.verdicts["bad"] < 50 {
		t.Fatalf("verdicts %v: want the good bundle, the changed base and many refusals", v.verdicts)
	}
	run(t, "test_mbundle.py", dir)
}

type bundleVectors struct {
	t        *testing.T
	dir      string
	note     []byte
	cases    bytes.Buffer
	n        int
	verdicts map[string]int
}

// add writes one bundle and Go's verdict on it for a board whose target
// is the folder target.
func (v *bundleVectors) add(name string, b []byte, target string) {
	v.t.Helper()
	name += ".mbundle"
	write(v.t, v.dir, name, b)
	old, _ := os.ReadFile(filepath.Join(v.dir, "old.note"))
	content := func(f manifest.File) ([]byte, error) { return os.ReadFile(filepath.Join(v.dir, target, f.Path)) }
	want := mbundle.Want{Digest: sha256.Sum256(v.note), NoteSize: int64(len(v.note)), MaxFiles: 500, MaxFileSize: 1 << 20, MaxTotal: 2 << 20}
	res, err := mbundle.Apply(bytes.NewReader(b), mbundle.Old{Note: old, Content: content}, want)
	verdict := "ok"
	switch {
	case errors.Is(err, mbundle.ErrBase):
		verdict = "base"
	case err != nil:
		verdict = "bad"
	}
	fmt.Fprintf(&v.cases, "%s %s %s %d %s", name, verdict, target, len(v.note), hex.EncodeToString(want.Digest[:]))
	if res != nil {
		for _, f := range res.Files {
			fmt.Fprintf(&v.cases, " %s", hex.EncodeToString(f.SHA256[:]))
		}
	}
	v.cases.WriteByte('\n')
	if v.verdicts == nil {
		v.verdicts = map[string]int{}
	}
	v.verdicts[verdict]++
	v.n++
}

// signedRelease signs a manifest of tree and keeps its contents.
func signedRelease(t *testing.T, version string, seq uint64, tree map[string]string, contents map[manifest.Digest][]byte) ([]byte, *manifest.Manifest) {
	t.Helper()
	m := &manifest.Manifest{Channel: "stable", Version: version, Sequence: seq,
		Created: time.Unix(1_700_000_000, 0), Expires: time.Unix(1_900_000_000, 0)}
	for p, c := range tree {
		d := manifest.Digest(sha256.Sum256([]byte(c)))
		contents[d] = []byte(c)
		m.Files = append(m.Files, manifest.File{Path: p, Mode: 0o644, Size: int64(len(c)), ZSize: int64(len(c)/2 + 9), SHA256: d})
	}
	text, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	skey, _, err := trust.GenerateKey("ferry-signing-1")
	if err != nil {
		t.Fatal(err)
	}
	note, err := trust.Sign(text, skey)
	if err != nil {
		t.Fatal(err)
	}
	return note, m
}

func pySource(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 3))
	words := []string{"def", "return", "state", "reading", "if", "for", "in", "time", "=", ":", "(", ")", "\n    "}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}

func inflate(t *testing.T, z []byte) []byte {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deflateBoard compresses b as the publisher does for boards (2 KiB window).
func deflateBoard(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	if _, err := publish.EncodeZlib(&z, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}
