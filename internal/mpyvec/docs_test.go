package mpyvec

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// interesting are the bytes mutations insert: separators, signs, digits,
// control bytes and the starts of multi-byte UTF-8 sequences.
var interesting = []byte(" \n\t\r/\\.0f9+-=:Z\x00\x7f\xc2\x80\xe2\xed\xff")

// mutants calls each with n copies of base, the i-th changed in 1 to most
// random ways (mutate), from a generator seeded with seed and seed+1.
func mutants(seed uint64, n, most int, base []byte, each func(i int, m []byte)) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for i := range n {
		m := base
		for k := rng.IntN(most); k >= 0; k-- {
			m = mutate(rng, m)
		}
		each(i, m)
	}
}

// mutate returns b changed in one random way.
func mutate(rng *rand.Rand, b []byte) []byte {
	if len(b) == 0 {
		return []byte("\n")
	}
	b = bytes.Clone(b)
	lines := bytes.SplitAfter(b, []byte("\n"))
	pick := func() byte { return interesting[rng.IntN(len(interesting))] }
	switch rng.IntN(7) {
	case 0:
		b[rng.IntN(len(b))] = pick()
	case 1:
		i := rng.IntN(len(b))
		b = append(b[:i], b[i+1:]...)
	case 2:
		i := rng.IntN(len(b) + 1)
		b = append(b[:i], append([]byte{pick()}, b[i:]...)...)
	case 3:
		i := rng.IntN(len(lines))
		lines = append(lines[:i], lines[i+1:]...)
		b = bytes.Join(lines, nil)
	case 4:
		i := rng.IntN(len(lines))
		lines = append(lines[:i+1], lines[i:]...)
		b = bytes.Join(lines, nil)
	case 5:
		if i := rng.IntN(len(lines)); i+1 < len(lines) {
			lines[i], lines[i+1] = lines[i+1], lines[i]
		}
		b = bytes.Join(lines, nil)
	case 6:
		b = b[:rng.IntN(len(b))]
	}
	return b
}

// verdict names the sentinel error err wraps, as the Python side's .code.
func verdict(err error) string {
	for _, s := range []struct {
		err  error
		code string
	}{
		{trust.ErrFormat, "format"}, {trust.ErrUntrusted, "untrusted"}, {trust.ErrBadSignature, "bad-signature"},
		{trust.ErrExpired, "expired"}, {manifest.ErrFormat, "format"}, {manifest.ErrVersion, "version"},
		{manifest.ErrPath, "path"}, {manifest.ErrTooLarge, "too-large"},
	} {
		if errors.Is(err, s.err) {
			return s.code
		}
	}
	if err == nil {
		return "ok"
	}
	return "unknown:" + err.Error()
}

type keyPair struct{ skey, vkey string }

func gen(t *testing.T, name string) keyPair {
	t.Helper()
	s, v, err := trust.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{s, v}
}

func sign(t *testing.T, text string, keys ...keyPair) []byte {
	t.Helper()
	var sk []string
	for _, k := range keys {
		sk = append(sk, k.skey)
	}
	msg, err := trust.Sign([]byte(text), sk...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// cases collects documents and the verdicts Go reaches on them.
type cases struct {
	dir, prefix string
	index       bytes.Buffer
	n           int
}

func (c *cases) add(t *testing.T, data []byte, fields ...any) {
	t.Helper()
	c.n++
	write(t, c.dir, fmt.Sprintf("%s/%d", c.prefix, c.n), data)
	fmt.Fprint(&c.index, c.n)
	for _, f := range fields {
		fmt.Fprint(&c.index, " ", f)
	}
	c.index.WriteString("\n")
}

func TestNoteVectors(t *testing.T) {
	t.Parallel()
	r1, r2, s1, other := gen(t, "ferry-root-1"), gen(t, "ferry-root-2"), gen(t, "ferry-signing-1"), gen(t, "other")
	rogue := gen(t, "ferry-root-1") // the name of a root, another key
	dir := t.TempDir()
	rootPub := "# Ferry root keys\n# threshold 2\n" + r1.vkey + "\n  " + r2.vkey + " \n\n"
	write(t, dir, "roots.pub", []byte(rootPub))
	roots, err := trust.ParseVerifiers([]byte(rootPub))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	text := string(trust.MarshalBundle([]string{s1.vkey}, now.Add(time.Hour)))
	c := &cases{dir: dir, prefix: "notes"}
	check := func(msg []byte, threshold int) {
		roots.Threshold = threshold
		_, err := roots.Verify(msg)
		v := verdict(err)
		if v == "ok" { // the key-list rules too, as OpenBundle applies them
			_, err = roots.OpenBundle(msg, now)
			v = verdict(err)
		}
		c.add(t, msg, threshold, v)
	}
	base := sign(t, text, r1, other, r2)
	for _, m := range [][]byte{
		base, sign(t, text, r1), sign(t, text, rogue), sign(t, text, other), sign(t, text, rogue, r1),
		sign(t, text, r1, r1), append(bytes.Clone(base), base[bytes.LastIndex(base, []byte("\n\n"))+2:]...),
		sign(t, text+"key "+other.vkey+"\n", r1, r2), sign(t, strings.Replace(text, "expires 2027", "expires 2026", 1), r1, r2),
		sign(t, text+"bogus\n", r1, r2), sign(t, text+"key  \n", r1, r2), sign(t, text+"key #"+other.vkey+"\n", r1, r2),
		[]byte(text + "\n" + strings.Repeat("— other AAAAAAAA\n", 101)),
	} {
		check(m, 1)
		check(m, 2)
	}
	mutants(5, 60, 2, base, func(i int, m []byte) { check(m, 1+i%2) })
	// Mutated key-list texts, validly signed: the list's own parsing rules.
	listText := string(trust.MarshalBundle([]string{s1.vkey, other.vkey}, now.Add(time.Hour)))
	mutants(20, 40, 2, []byte(listText), func(_ int, m []byte) {
		if len(m) == 0 || m[len(m)-1] != '\n' {
			m = append(m, '\n')
		}
		check(sign(t, string(m), r1, r2), 2)
	})
	write(t, dir, "notes.txt", c.index.Bytes())
	write(t, dir, "now.txt", []byte(fmt.Sprint(now.Unix())))
	run(t, "test_note.py", dir)
}

// summary is what a Python reader must find in an accepted manifest.
func summary(m *manifest.Manifest) string {
	h := sha256.New()
	for _, f := range m.Files {
		kind, sum := "f", f.SHA256[:]
		if f.GitSHA1 != ([20]byte{}) {
			kind, sum = "g", f.GitSHA1[:]
		}
		fmt.Fprintf(h, "%s %o %d %d %x %s\n", kind, f.Mode, f.Size, f.ZSize, sum, f.Path)
	}
	return fmt.Sprintf("%s %s %d %d %d %d %d %x", m.Channel, m.Version, m.Sequence, m.Created.Unix(), m.Expires.Unix(), len(m.Files), m.TotalSize(), h.Sum(nil))
}

func manifestText(t *testing.T, n int) []byte {
	t.Helper()
	m := &manifest.Manifest{Channel: "stable", Version: "1.4.0", Sequence: 7,
		Created: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Expires: time.Date(2027, 11, 25, 12, 0, 0, 0, time.UTC)}
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("app/mod%02d/file%03d.py", i%17, i)
		if i%23 == 0 {
			p = fmt.Sprintf("lib/é%d.txt", i)
		}
		m.Files = append(m.Files, manifest.File{Path: p, Mode: 0o644, Size: int64(100 + i*37), ZSize: int64(60 + i), SHA256: sha256.Sum256([]byte(p))})
	}
	text, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

var limits = manifest.Limits{MaxFiles: 250, MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20}

func TestManifestVectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &cases{dir: dir, prefix: "man"}
	check := func(data []byte) {
		m, err := manifest.ParseManifest(data, limits)
		if err != nil {
			c.add(t, data, verdict(err))
			return
		}
		if !utf8.ValidString(m.Channel + m.Version) { // the one documented difference (manifest.py)
			c.add(t, data, "format")
			return
		}
		c.add(t, data, "ok", summary(m))
	}
	big := manifestText(t, 200)
	small := manifestText(t, 12)
	hdr := "ferry-manifest 1\nchannel stable\nversion 1.0\nsequence 3\ncreated 2026-01-01T00:00:00Z\nexpires 2027-01-01T00:00:00Z\n"
	d := strings.Repeat("ab", 32)
	for _, s := range []string{
		hdr + "files 0\n", hdr + "files 2\nf 0644 1 1 " + d + " a\nf 0644 1 1 " + d + " a/b\n",
		hdr + "files 3\nf 0644 1 1 " + d + " a\nf 0644 1 1 " + d + " a!\nf 0644 1 1 " + d + " a/b\n",
		hdr + "files 2\nf 0644 1 1 " + d + " b\nf 0644 1 1 " + d + " a\n",
		hdr + "files 1\nf 0644 +1 -0 " + strings.ToUpper(d) + " x\n", hdr + "files +1\nf 0644 0001 1 " + d + " x\n",
		hdr + "files 1\nf 0644 1 1 " + d + " .Ferry/x\n", hdr + "files 1\nf 0644 1 1 " + d + " a/./b\n",
		hdr + "files 1\nf 0644 1 1 " + d + " c:x\n", hdr + "files 1\nf 0644 1 1 " + d + " x\u0085y\n",
		hdr + "files 1\nf 0644 1 1 " + d + " x\xed\xa0\x80y\n", hdr + "files 1\nf 1644 1 1 " + d + " x\n",
		hdr + "files 1\nf 0644 1048577 1 " + d + " x\n", hdr + "files 251\n", hdr + "files 1\ng 0644 1 1 " + d[:40] + " x\n",
		hdr + "files 1\ng 0644 1 1 " + strings.Repeat("0", 40) + " x\n", hdr + "files 1\nf 0644 1 1 " + d + " x\n\n",
		hdr + "extra key\nfiles 0\n", hdr + "channel again\nfiles 0\n", strings.Replace(hdr, "ferry-manifest 1", "ferry-manifest 2", 1) + "files 0\n",
		strings.Replace(hdr, "2027-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00", 1) + "files 0\n",
		strings.Replace(hdr, "2027-01-01T00:00:00Z", "2027-02-29T00:00:00Z", 1) + "files 0\n",
		strings.Replace(hdr, "2027-01-01T00:00:00Z", "2027-01-01T10:00:00.123456789-05:30", 1) + "files 0\n",
		strings.Replace(hdr, "sequence 3", "sequence 18446744073709551616", 1) + "files 0\n",
		strings.Replace(hdr, "channel stable", "channel sta/ble", 1) + "files 0\n",
		strings.Replace(hdr, "channel stable", "channel st\xffable", 1) + "files 0\n",
		hdr + "files 0", hdr + "files 1\nf 0644 1 1 " + d + " " + strings.Repeat("x", 1025) + "\n",
	} {
		check([]byte(s))
	}
	// Time stamps at the edges of Go's RFC 3339 parsing (its fast path and
	// the general parser it falls back to).
	for _, ts := range []string{
		"2027-01-01T00:00:00z", "2027-01-01t00:00:00Z", "2027-01-01T0:00:00Z", "2027-01-01T9:59:59+01:00",
		"2027-01-01T00:00:00,5Z", "2027-01-01T00:00:00.Z", "2027-01-01T00:00:00+24:00", "2027-01-01T00:00:00+23:60",
		"2027-01-01T00:00:00-24:60", "2027-01-01T00:00:00+24:61", "2027-01-01T00:00:00+25:00", "2027-01-01T00:00:60Z",
		"0000-01-01T00:00:00Z", "2027-01-01T00:00:00.1234567890123Z", "2027-01-01T00:00:00+0100", "2027-01-01T00:00:00 Z",
		"2027-1-01T00:00:00Z", "+027-01-01T00:00:00Z", "2027-01-01T00:00:00-00:00", "2027-01-01T24:00:00Z",
		"2027-01-01T00:00:00.5", "2027-01-01T00:00:00UTC", "2027-01-01T123:00:00Z", "2027-01-01T00:0:00Z", "9999-12-31T23:59:59.999999999-24:60",
	} {
		check([]byte(strings.Replace(hdr, "2027-01-01T00:00:00Z", ts, 1) + "files 0\n"))
	}
	check(big)
	mutants(7, 150, 3, small, func(i int, m []byte) { check(m) })
	write(t, dir, "man.txt", c.index.Bytes())
	run(t, "test_manifest.py", dir)
}

func TestPointerVectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &cases{dir: dir, prefix: "ptr"}
	check := func(data []byte) {
		p, err := manifest.ParsePointer(data)
		if err != nil {
			c.add(t, data, verdict(err))
			return
		}
		if !utf8.ValidString(p.Channel + p.Version) { // the one documented difference (manifest.py)
			c.add(t, data, "format")
			return
		}
		c.add(t, data, "ok", p.Channel, p.Version, p.Sequence, p.Manifest, p.ManifestSize, p.Expires.Unix(), p.Rollout)
	}
	p := &manifest.Pointer{Channel: "stable", Version: "1.4.0", Sequence: 7, Manifest: sha256.Sum256([]byte("m")),
		ManifestSize: 4242, Expires: time.Date(2027, 11, 25, 12, 0, 0, 0, time.UTC), Rollout: 50}
	base, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	check(base)
	for _, s := range []string{"rollout 50", "rollout 101", "rollout -1", "rollout +7", "manifest-size 0", "manifest-size +9", "version 1 4"} {
		check(bytes.Replace(base, []byte("rollout 50"), []byte(s), 1))
	}
	mutants(9, 120, 2, base, func(i int, m []byte) { check(m) })
	write(t, dir, "ptr.txt", c.index.Bytes())
	run(t, "test_trust.py", dir)
}

// rootVerdict is what a device makes of root.pub: trust.ParseVerifiers and
// the "# threshold T" line as internal/keys reads it (config threshold 1).
func rootVerdict(data []byte) string {
	if _, err := trust.ParseVerifiers(data); err != nil {
		return verdict(err)
	}
	threshold := 1
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "# threshold "); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return "format"
			}
			threshold = n
		}
	}
	return fmt.Sprintf("ok %d", threshold)
}

func TestRootVectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &cases{dir: dir, prefix: "root"}
	r1, r2 := gen(t, "ferry-root-1"), gen(t, "ferry-root-2")
	base := []byte("# Ferry root keys: pin this file on every device (root_keys).\n# threshold 2\n" + r1.vkey + "\n" + r2.vkey + "\n")
	for _, s := range []string{
		string(base), " \u2003" + r1.vkey + "\u00a0\r\n", r1.vkey + "\n# threshold +3\n", r1.vkey + "\n  # threshold 3 \n# threshold 1\n",
		r1.vkey[:20] + "\r" + r1.vkey[20:] + "\n", r1.vkey + "\n#threshold 5\n", "# threshold 2\n", r1.vkey + "\n# threshold 0\n",
	} {
		c.add(t, []byte(s), rootVerdict([]byte(s)))
	}
	mutants(11, 150, 2, base, func(i int, m []byte) { c.add(t, m, rootVerdict(m)) })
	write(t, dir, "roots.txt", c.index.Bytes())
	run(t, "test_trust.py", dir)
}
