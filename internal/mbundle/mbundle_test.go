package mbundle

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// store holds contents by digest, as an origin does.
type store map[manifest.Digest][]byte

// rel is one signed release made from a tree.
type rel struct {
	note []byte
	m    *manifest.Manifest
	tree map[string]string
}

var signer = func() string {
	skey, _, err := trust.GenerateKey("test-signer")
	if err != nil {
		panic(err)
	}
	return skey
}()

// release signs a manifest of tree (path → content) and keeps the contents.
func (s store) release(t testing.TB, version string, seq uint64, tree map[string]string) rel {
	t.Helper()
	m := &manifest.Manifest{Channel: "stable", Version: version, Sequence: seq,
		Created: time.Unix(1_700_000_000, 0), Expires: time.Unix(1_900_000_000, 0)}
	for p, c := range tree {
		d := manifest.Digest(sha256.Sum256([]byte(c)))
		s[d] = []byte(c)
		m.Files = append(m.Files, manifest.File{Path: p, Mode: 0o644, Size: int64(len(c)), ZSize: int64(len(c)/2 + 9), SHA256: d})
	}
	text, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	note, err := trust.Sign(text, signer)
	if err != nil {
		t.Fatal(err)
	}
	return rel{note, m, tree}
}

func (s store) content(d manifest.Digest) ([]byte, error) {
	c, ok := s[d]
	if !ok {
		return nil, fmt.Errorf("no content %s", d)
	}
	return c, nil
}

func (s store) input(a, b rel) Input {
	return Input{OldNote: a.note, NewNote: b.note, Old: a.m, New: b.m, Content: s.content}
}

// board is the old release as a board holds it: its files by path.
func board(a rel) Old {
	return Old{Note: a.note, Content: func(f manifest.File) ([]byte, error) {
		c, ok := a.tree[f.Path]
		if !ok {
			return nil, fmt.Errorf("%s: no such file", f.Path)
		}
		return []byte(c), nil
	}}
}

func want(b rel) Want {
	return Want{Digest: sha256.Sum256(b.note), NoteSize: int64(len(b.note)), MaxFiles: 500, MaxFileSize: 1 << 20, MaxTotal: 2 << 20}
}

func source(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"def", "return", "self", "None", "if", "for", "in", "state", "reading", "time", "=", ":", "(", ")", "\n    "}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}

func random(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

func with(base map[string]string, edits map[string]string, drop ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for _, d := range drop {
		delete(out, d)
	}
	for k, v := range edits {
		out[k] = v
	}
	return out
}

// TestRoundTrip: edits, adds (with and without a related base), a move, a
// deletion, duplicate contents and a binary file: Apply makes the new note
// exactly and every listed file's content, and lists what changed only.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	base := map[string]string{"lib/a.py": source(3000, 1), "lib/b.py": source(2000, 2), "README": "read me\n", "bin/blob": random(500, 3), "old/x.py": source(900, 4)}
	cases := map[string]map[string]string{
		"one edit":   with(base, map[string]string{"lib/a.py": strings.Replace(base["lib/a.py"], "self", "this", 1)}),
		"add":        with(base, map[string]string{"lib/c.py": source(1500, 5), "NOTES": "new notes\n"}),
		"move":       with(base, map[string]string{"new/x.py": base["old/x.py"]}, "old/x.py"),
		"delete":     with(base, nil, "README"),
		"duplicates": with(base, map[string]string{"d1.txt": "same\n", "d2.txt": "same\n"}),
		"binary":     with(base, map[string]string{"bin/blob": random(600, 9)}),
		"empty file": with(base, map[string]string{"empty": ""}),
		"no change":  base,
	}
	for name, tree := range cases {
		t.Run(name, func(t *testing.T) {
			s := store{}
			a, b := s.release(t, "1", 1, base), s.release(t, "2", 2, tree)
			mb, listed, err := Make(s.input(a, b), Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Apply(bytes.NewReader(mb), board(a), want(b))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Note, b.note) {
				t.Fatal("the note made is not the new note")
			}
			if len(res.Files) != len(listed) {
				t.Fatalf("%d files made, %d listed", len(res.Files), len(listed))
			}
			for i, f := range listed {
				if res.Files[i].SHA256 != f.SHA256 || string(res.Files[i].Data) != tree[f.Path] {
					t.Errorf("%s: content made is not the new one", f.Path)
				}
				if c, had := a.tree[f.Path]; had && c == tree[f.Path] {
					t.Errorf("%s: listed but unchanged", f.Path)
				}
			}
			t.Logf("%d files listed, bundle %d bytes, new note %d bytes", len(listed), len(mb), len(b.note))
		})
	}
}

// TestSmallerThanPerFile: five one-line edits in a 100-file release cost
// far less than the note alone: no digest, few bytes a file.
func TestSmallerThanPerFile(t *testing.T) {
	t.Parallel()
	s := store{}
	old := map[string]string{}
	for i := range 100 {
		old[fmt.Sprintf("app/mod%03d.py", i)] = source(2000, uint64(i))
	}
	edits := map[string]string{}
	for _, i := range []int{3, 41, 77} {
		p := fmt.Sprintf("app/mod%03d.py", i)
		edits[p] = strings.Replace(old[p], "state", "STATE", 1)
	}
	a, b := s.release(t, "1", 1, old), s.release(t, "2", 2, with(old, edits))
	mb, listed, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 {
		t.Fatalf("listed %d files, want 3", len(listed))
	}
	// Each digest alone is 32 bytes of entropy; the bundle carries none.
	if len(mb) > 3*32+120 {
		t.Errorf("bundle of %d bytes for 3 one-word edits, want at most %d", len(mb), 3*32+120)
	}
	t.Logf("bundle %d bytes for a %d-byte note", len(mb), len(b.note))
}

// TestWindow: the zlib header declares the board's window, and Go's
// decoder reads the stream.
func TestWindow(t *testing.T) {
	t.Parallel()
	s := store{}
	a := s.release(t, "1", 1, map[string]string{"a.py": source(20000, 1)})
	b := s.release(t, "2", 2, map[string]string{"a.py": source(20000, 2)})
	mb, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := int(mb[0]>>4) + 8; got != layout.ZlibWindowBits {
		t.Errorf("window bits %d, want %d", got, layout.ZlibWindowBits)
	}
	zr, err := zlib.NewReader(bytes.NewReader(mb))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := io.ReadAll(zr)
	if err != nil || !bytes.HasPrefix(cmds, []byte(Magic)) {
		t.Fatalf("decoded %q..., %v", cmds[:min(8, len(cmds))], err)
	}
}

// TestRefusals: caps, a changed base, another release's bundle, bytes
// after the end, a bundle cut short.
func TestRefusals(t *testing.T) {
	t.Parallel()
	s := store{}
	base := map[string]string{"a.py": source(3000, 1), "b.py": source(2000, 2)}
	a := s.release(t, "1", 1, base)
	b := s.release(t, "2", 2, with(base, map[string]string{"a.py": source(3000, 1) + "x = 1\n", "c.py": source(4000, 3)}))
	c := s.release(t, "3", 3, with(base, map[string]string{"a.py": "other\n"}))
	mb, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	changed := board(a)
	changed.Content = func(f manifest.File) ([]byte, error) { return []byte("edited on the board"), nil }
	tooMany, tooBig, tooMuch := want(b), want(b), want(b)
	tooMany.MaxFiles, tooBig.MaxFileSize, tooMuch.MaxTotal = 1, 3500, 5000
	cmds := decoded(t, mb)
	trailing, err := zlibEncode(append(cmds, 'E'))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		bundle []byte
		old    Old
		want   Want
		err    error
	}{
		{"too many files", mb, board(a), tooMany, ErrTooLarge},
		{"file over max_file_mb", mb, board(a), tooBig, ErrTooLarge},
		{"over max_total_mb", mb, board(a), tooMuch, ErrTooLarge},
		{"base changed on the board", mb, changed, want(b), ErrBase},
		{"another release's note", mb, board(a), want(c), ErrCorrupt},
		{"bytes after the end", trailing, board(a), want(b), ErrCorrupt},
		{"cut short", mb[:len(mb)*2/3], board(a), want(b), ErrCorrupt},
		{"not zlib", []byte("FMB1 plain"), board(a), want(b), ErrFormat},
	} {
		_, err := Apply(bytes.NewReader(tc.bundle), tc.old, tc.want)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
		}
	}
}

func decoded(t testing.TB, mb []byte) []byte {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(mb))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// TestMoveIsACopy: a file moved to a new path (incompressible content) and
// one edited in place are carried as copies from their old files, not as
// their content.
func TestMoveIsACopy(t *testing.T) {
	t.Parallel()
	s := store{}
	base := map[string]string{"old/blob.bin": random(5000, 1), "lib/data.bin": random(4000, 2), "x.py": "x = 1\n"}
	edited := base["lib/data.bin"][:2000] + "edit" + base["lib/data.bin"][2000:]
	a := s.release(t, "1", 1, base)
	b := s.release(t, "2", 2, with(base, map[string]string{"lib/moved.bin": base["old/blob.bin"], "lib/data.bin": edited}, "old/blob.bin"))
	mb, listed, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || len(mb) > 400 {
		t.Errorf("%d files listed in %d bytes; want 2 in at most 400 (9 KB of random content moved or edited)", len(listed), len(mb))
	}
}

// TestMakeMaxNote: notes over MaxNote get no bundle.
func TestMakeMaxNote(t *testing.T) {
	t.Parallel()
	s := store{}
	a := s.release(t, "1", 1, map[string]string{"a.py": "a\n"})
	b := s.release(t, "2", 2, map[string]string{"a.py": "b\n"})
	in := s.input(a, b)
	in.NewNote = append(bytes.Repeat([]byte("#"), MaxNote), b.note...)
	if _, _, err := Make(in, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a note of %d bytes: %v, want ErrTooLarge", len(in.NewNote), err)
	}
}
