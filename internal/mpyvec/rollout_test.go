package mpyvec

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// TestRolloutVectors: rollout documents (issue #16) Go marshals, edits and
// mutates, with Go's verdict (rollout.txt: "N VERDICT [FIELDS]"), which
// micropython/tests/test_rollout.py's ferry.rollout.parse must reach too.
func TestRolloutVectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &cases{dir: dir, prefix: "rollout"}
	check := func(data []byte) {
		d, err := manifest.ParseRolloutDoc(data)
		if err != nil {
			c.add(t, data, verdict(err))
			return
		}
		if !utf8.ValidString(d.Channel + d.Version) { // the one documented difference (manifest.py)
			c.add(t, data, "format")
			return
		}
		halted := 0
		if d.Halted {
			halted = 1
		}
		c.add(t, data, "ok", d.Channel, d.Version, d.Sequence, d.Manifest, d.Percent, halted, d.Issued.Unix(), d.Expires.Unix())
	}
	issued := time.Date(2027, 11, 25, 12, 0, 0, 0, time.UTC)
	doc := &manifest.RolloutDoc{Channel: "stable", Version: "1.4.0", Sequence: 7, Manifest: sha256.Sum256([]byte("m")),
		Percent: 50, Halted: true, Reason: "failure rate 9% reaches 5%", Issued: issued, Expires: issued.Add(48 * time.Hour)}
	base, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	check(base)
	for _, e := range [][2]string{
		{"percent 50", "percent 101"}, {"percent 50", "percent -1"}, {"percent 50", "percent +7"}, {"halted 1", "halted 2"},
		{"halted 1", "halted 0"}, {"halted 1", "halted +1"}, {"issued 2027-11-25T12:00:00Z", "issued 2027-11-28T12:00:00Z"},
		{"issued 2027-11-25T12:00:00Z", "issued 2027-11-27T12:00:00.5Z"}, {"issued 2027-11-25T12:00:00Z", "issued 0001-01-01T00:00:00Z"},
		{"reason failure", "reason fail\rure"}, {"ferry-rollout 1", "ferry-rollout 2"}, {"version 1.4.0", "version 1 4"},
		{"sequence 7", "sequence -7"}, {"reason failure rate 9% reaches 5%\n", ""},
	} {
		check(bytes.Replace(base, []byte(e[0]), []byte(e[1]), 1))
	}
	mutants(16, 150, 2, base, func(i int, m []byte) { check(m) })
	write(t, dir, "rollout.txt", c.index.Bytes())
	run(t, "test_rollout.py", dir)
}

// TestPointerHeaderVectors: channel pointers with the optional "keys" and
// "rollout-doc" lines, edited and mutated, with Go's verdict (ptrhdr.txt:
// "N VERDICT [ROLLOUT-DOC KEYS-VERSION KEYS-SHA256]"), which
// ferry.trust.parse_pointer must reach too.
func TestPointerHeaderVectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &cases{dir: dir, prefix: "ptrhdr"}
	check := func(data []byte) {
		p, err := manifest.ParsePointer(data)
		switch {
		case err != nil:
			c.add(t, data, verdict(err))
		case !utf8.ValidString(p.Channel + p.Version): // the one documented difference (manifest.py)
			c.add(t, data, "format")
		default:
			c.add(t, data, "ok", p.RolloutDoc, p.Keys.Version, p.Keys.SHA256)
		}
	}
	p := &manifest.Pointer{Channel: "stable", Version: "1.4.0", Sequence: 7, Manifest: sha256.Sum256([]byte("m")),
		ManifestSize: 4242, Expires: time.Date(2027, 11, 25, 12, 0, 0, 0, time.UTC), Rollout: 1,
		Keys: manifest.KeysRef{Version: 3, SHA256: sha256.Sum256([]byte("k"))}, RolloutDoc: true}
	base, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	check(base)
	check(bytes.Replace(base, []byte("rollout-doc 1\n"), nil, 1))
	for _, e := range [][2]string{
		{"rollout-doc 1", "rollout-doc 0"}, {"rollout-doc 1", "rollout-doc 2"}, {"rollout-doc 1", "rollout-doc +1"},
		{"keys 3 ", "keys 0 "}, {"keys 3 ", "keys +3 "}, {"keys 3 ", "keys 3  "}, {"keys 3 ", "keys "},
		{"rollout-doc 1\n", "rollout-doc 1\nrollout-doc 1\n"},
	} {
		check(bytes.Replace(base, []byte(e[0]), []byte(e[1]), 1))
	}
	mutants(18, 120, 2, base, func(i int, m []byte) { check(m) })
	write(t, dir, "ptrhdr.txt", c.index.Bytes())
	run(t, "test_rollout.py", dir)
}
