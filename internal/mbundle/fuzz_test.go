package mbundle

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzRoundTrip: for any pair of small trees (edits, adds, deletes of the
// fuzzer's choosing), Make's bundle applies to exactly the new note and the
// new contents of the files it lists.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("def f():\n    return 1\n"), []byte("def f():\n    return 2\n"), uint8(3))
	f.Add([]byte(strings.Repeat("abcdefgh", 300)), []byte(strings.Repeat("abcdefgh", 290)+"tail"), uint8(0))
	f.Add([]byte{}, []byte{0, 1, 2}, uint8(255))
	f.Fuzz(func(t *testing.T, x, y []byte, shape uint8) {
		old := map[string]string{"a.py": string(x), "lib/b.py": string(y) + "b", "c.txt": "c\n"}
		new := map[string]string{"a.py": string(y), "lib/b.py": string(x) + string(y)}
		if shape&1 != 0 {
			new["c.txt"] = "c\n"
		}
		if shape&2 != 0 {
			new["lib/d.py"] = string(x)
		}
		if shape&4 != 0 {
			new[fmt.Sprintf("m/%d.txt", shape)] = "c\n"
		}
		s := store{}
		a, b := s.release(t, "1", 1, old), s.release(t, "2", 2, new)
		mb, listed, err := Make(s.input(a, b), Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(bytes.NewReader(mb), board(a), want(b))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Note, b.note) || len(res.Files) != len(listed) {
			t.Fatalf("note equal %v, %d files for %d listed", bytes.Equal(res.Note, b.note), len(res.Files), len(listed))
		}
		for i, f := range listed {
			if string(res.Files[i].Data) != new[f.Path] {
				t.Fatalf("%s: wrong content", f.Path)
			}
		}
	})
}

// FuzzApply: a hostile bundle fails cleanly; whatever Apply accepts is the
// expected note, with files within the caps.
func FuzzApply(f *testing.F) {
	s := store{}
	a := s.release(f, "1", 1, map[string]string{"a.py": source(1200, 1), "b.py": source(700, 2), "c.bin": random(100, 3)})
	b := s.release(f, "2", 2, map[string]string{"a.py": source(1200, 1) + "# more\n", "b.py": source(700, 2), "d.py": source(300, 4)})
	good, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	cmds := decoded(f, good)
	for _, m := range [][]byte{cmds[:len(cmds)-1], append(cmds[:len(cmds):len(cmds)], 'L', 1, 'x'), []byte("FMB1\x00E")} {
		z, err := zlibEncode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(z)
	}
	w := want(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Apply(bytes.NewReader(data), board(a), w)
		if err != nil {
			return
		}
		if !bytes.Equal(res.Note, b.note) {
			t.Fatal("accepted a note that is not the expected one")
		}
		var total int64
		for _, f := range res.Files {
			total += int64(len(f.Data))
		}
		if len(res.Files) > w.MaxFiles || total > w.MaxTotal {
			t.Fatalf("%d files, %d bytes: over the caps", len(res.Files), total)
		}
	})
}
