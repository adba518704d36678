package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/reltest"
)

// store holds contents by digest, as an origin does.
type store struct{ reltest.Store }

// rel is one signed release made from a tree.
type rel = reltest.Release

func newStore() store { return store{reltest.Store{}} }

func (s store) input(a, b rel) Input {
	return Input{OldNote: a.Note, NewNote: b.Note, Old: a.M, New: b.M, Content: s.Content}
}

func (s store) old(a rel) Old {
	return Old{Note: a.Note, Manifest: a.M, Content: func(f manifest.File) ([]byte, error) { return s.Content(f.SHA256) }}
}

func want(b rel) Want {
	return Want{Digest: sha256.Sum256(b.Note), NoteSize: int64(len(b.Note)), MaxFiles: 1000}
}

// collect is an Output that keeps what Apply writes, by path.
type collect map[string]*bytes.Buffer

func (c collect) out(f manifest.File) (io.WriteCloser, error) {
	c[f.Path] = &bytes.Buffer{}
	return nopCloser{c[f.Path]}, nil
}

// source is n bytes or a little more of source-like text (reltest.Source).
func source(n int, seed uint64) string {
	return reltest.Source(n, seed, "func", "return", "err", "nil", "if", "for", "range", "ctx", "data", "manifest", "file", ":=", "{", "}", "\n\t")
}

// random is n bytes that do not compress.
func random(n int, seed uint64) string { return reltest.Random(n, seed) }

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	base := map[string]string{"lib/a.go": source(3000, 1), "lib/b.go": source(2000, 2), "README": "read me\n", "bin/tool": random(500, 3)}
	with := func(edits map[string]string, drop ...string) map[string]string {
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
	many := map[string]string{}
	for i := range 200 {
		many[fmt.Sprintf("pkg%02d/f%03d.go", i%20, i)] = source(300, uint64(i))
	}
	manyNew := map[string]string{}
	for k, v := range many {
		manyNew[k] = v
		if len(k)%3 == 0 {
			manyNew[k] = v + "// edited\n"
		}
	}
	tests := []struct {
		name     string
		old, new map[string]string
		opt      Options
		listed   []string
	}{
		{"edit", base, with(map[string]string{"lib/a.go": base["lib/a.go"] + "func more() {}\n"}), Options{}, []string{"lib/a.go"}},
		{"new path with a related base", base, with(map[string]string{"lib/c.go": base["lib/b.go"][:1000] + "new"}), Options{}, []string{"lib/c.go"}},
		{"new path, no base", base, with(map[string]string{"data/blob.bin": random(700, 9)}), Options{}, []string{"data/blob.bin"}},
		{"deletes only", base, with(nil, "README", "lib/b.go"), Options{}, nil},
		{"empty file", base, with(map[string]string{"empty": ""}), Options{}, []string{"empty"}},
		{"over MaxFile", base, with(map[string]string{"bin/tool": random(600, 4), "README": "read me too\n"}), Options{MaxFile: 100}, []string{"README"}},
		{"many files", many, manyNew, Options{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore()
			a, b := s.Release(t, "1", 1, tc.old), s.Release(t, "2", 2, tc.new)
			bun, listed, err := Make(s.input(a, b), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			got := collect{}
			res, err := Apply(context.Background(), bytes.NewReader(bun), s.old(a), want(b), got.out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Note, b.Note) {
				t.Fatal("the note made differs from the signed one")
			}
			wantListed := tc.listed
			if tc.name == "many files" {
				for p, v := range tc.new {
					if tc.old[p] != v {
						wantListed = append(wantListed, p)
					}
				}
			}
			if diff := cmp.Diff(sorted(wantListed), paths(listed)); diff != "" {
				t.Fatalf("listed (-want +got):\n%s", diff)
			}
			for _, f := range res.Files {
				if got[f.Path].String() != tc.new[f.Path] || f.SHA256 != sha256.Sum256([]byte(tc.new[f.Path])) {
					t.Fatalf("%s: wrong content or digest", f.Path)
				}
			}
			if len(res.Files) != len(listed) {
				t.Fatalf("applied %d files, listed %d", len(res.Files), len(listed))
			}
			// A note with room past its end (as read from a file): the
			// dictionary is built in that room, and the note is unchanged.
			old := s.old(a)
			old.Note = append(make([]byte, 0, len(a.Note)+1<<20), a.Note...)
			res, err = Apply(context.Background(), bytes.NewReader(bun), old, want(b), collect{}.out)
			if err != nil || !bytes.Equal(res.Note, b.Note) || !bytes.Equal(old.Note, a.Note) {
				t.Fatalf("with a roomy note: err %v, or a note changed", err)
			}
		})
	}
}

func paths(fs []manifest.File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestDigestsLeftOut: a bundle saves about the 32 bytes of entropy of every
// listed file's digest against the same stream with the digests in it.
func TestDigestsLeftOut(t *testing.T) {
	t.Parallel()
	s := newStore()
	old := map[string]string{}
	for i := range 50 {
		old[fmt.Sprintf("src/f%02d.go", i)] = source(1000, uint64(i))
	}
	nw := map[string]string{}
	for k, v := range old {
		nw[k] = v + "// x\n"
	}
	a, b := s.Release(t, "1", 1, old), s.Release(t, "2", 2, nw)
	in := s.input(a, b)
	bun, listed, err := Make(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 50 {
		t.Fatalf("listed %d files, want 50", len(listed))
	}
	h, body, dict, _, err := prepare(in, candidates(in, DefaultMaxFile))
	if err != nil {
		t.Fatal(err)
	}
	copy(body, b.Note) // the real digests
	withDigests, err := encode(h, body, dict, zstd.SpeedBestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if saved := len(withDigests) - len(bun); saved < 50*28 {
		t.Fatalf("bundle %d bytes, with the digests %d: saves %d, want at least %d", len(bun), len(withDigests), saved, 50*28)
	}
}

// hostile returns a bundle with the given header whose body is body
// compressed against dict.
func hostile(t *testing.T, h header, body, dict []byte) []byte {
	t.Helper()
	b, err := encode(h, body, dict, zstd.SpeedDefault)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostile(t *testing.T) {
	t.Parallel()
	s := newStore()
	tree := map[string]string{"a.go": source(2000, 1), "b.go": source(1000, 2)}
	a := s.Release(t, "1", 1, tree)
	b := s.Release(t, "2", 2, map[string]string{"a.go": tree["a.go"] + "x", "b.go": tree["b.go"], "c.go": "new\n"})
	good, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := header{oldNote: int64(len(a.Note)), newNote: int64(len(b.Note)), bases: []int{0}, files: []int{0, 2}}
	noteBody, _, err := makeBody(s.input(a, b), h.files)
	if err != nil {
		t.Fatal(err)
	}
	dict := append(append([]byte(nil), a.Note...), tree["a.go"]...)
	big := s.Release(t, "3", 3, map[string]string{"a.go": strings.Repeat("z", MaxContent+1)})
	bigBody := append(append([]byte(nil), big.Note...), strings.Repeat("z", MaxContent+1)...)
	huge := *a.M
	huge.Files = append([]manifest.File(nil), a.M.Files...)
	huge.Files[0].Size = MaxDict + 1
	tests := []struct {
		name  string
		data  []byte
		old   func(Old) Old
		want  func(Want) Want
		error error
	}{
		{name: "magic", data: append([]byte("FDLT"), good[4:]...), error: ErrFormat},
		{name: "version", data: append([]byte("FBDL\x02"), good[5:]...), error: ErrFormat},
		{name: "flags", data: append([]byte("FBDL\x01\x01"), good[6:]...), error: ErrFormat},
		{name: "short header", data: good[:8], error: ErrCorrupt},
		{name: "empty", data: nil, error: ErrFormat},
		{name: "other old note", data: good, old: func(o Old) Old { o.Note = append(o.Note, ' '); return o }, error: ErrBase},
		{name: "other new note size", data: good, want: func(w Want) Want { w.NoteSize++; return w }, error: ErrBase},
		{name: "other new note", data: good, want: func(w Want) Want { w.Digest[0] ^= 1; return w }, error: ErrMismatch},
		{name: "base out of range", data: hostile(t, header{h.oldNote, h.newNote, []int{7}, h.files}, noteBody, dict), error: ErrCorrupt},
		{name: "bases out of order", data: append(appendHeader(nil, header{h.oldNote, h.newNote, nil, nil})[:8+2], 2, 1, 0, 0), error: ErrCorrupt},
		{name: "too many files", data: hostile(t, header{h.oldNote, h.newNote, h.bases, []int{0, 1, 2, 3}}, noteBody, dict), want: func(w Want) Want { w.MaxFiles = 3; return w }, error: ErrTooLarge},
		{name: "file index past the note", data: hostile(t, header{h.oldNote, h.newNote, h.bases, []int{0, 9}}, noteBody, dict), error: ErrCorrupt},
		{name: "truncated body", data: good[:len(good)-4], error: ErrCorrupt},
		{name: "data after the last file", data: hostile(t, h, append(bytes.Clone(noteBody), "extra"...), dict), error: ErrCorrupt},
		{name: "base changed", data: good, old: func(o Old) Old {
			o.Content = func(manifest.File) ([]byte, error) { return nil, errors.New("changed on disk") }
			return o
		}, error: ErrBase},
		{name: "base of another size", data: good, old: func(o Old) Old {
			o.Content = func(f manifest.File) ([]byte, error) { return make([]byte, f.Size+1), nil }
			return o
		}, error: ErrBase},
		{name: "dictionary over MaxDict", data: good, old: func(o Old) Old {
			o.Manifest = &huge
			o.Content = func(manifest.File) ([]byte, error) { panic("read a base over the limit") }
			return o
		}, error: ErrTooLarge},
		{name: "content over MaxContent", data: hostile(t, header{h.oldNote, int64(len(big.Note)), nil, []int{0}}, bigBody, a.Note),
			want: func(w Want) Want { w.NoteSize = int64(len(big.Note)); return w }, error: ErrTooLarge},
		{name: "window over MaxWindow", data: wideWindow(t, h, noteBody, dict), error: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, w := s.old(a), want(b)
			if tc.old != nil {
				o = tc.old(o)
			}
			if tc.want != nil {
				w = tc.want(w)
			}
			_, err := Apply(context.Background(), bytes.NewReader(tc.data), o, w, collect{}.out)
			if !errors.Is(err, tc.error) {
				t.Fatalf("error %v, want %v", err, tc.error)
			}
		})
	}
}

// wideWindow returns a bundle whose frame declares a 16 MiB window.
func wideWindow(t *testing.T, h header, body, dict []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(16<<20), zstd.WithEncoderDictRaw(0, dict), zstd.WithSingleSegment(false), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	frame := enc.EncodeAll(append(bytes.Clone(body), make([]byte, 9<<20)...), nil)
	return append(appendHeader(nil, h), frame[4:]...)
}

// TestFlippedBytes: any single flipped byte of a genuine bundle is caught,
// as a format, corrupt-stream or mismatch error, never as a wrong note.
func TestFlippedBytes(t *testing.T) {
	t.Parallel()
	s := newStore()
	a := s.Release(t, "1", 1, map[string]string{"a.go": source(1500, 1), "b.go": source(900, 2)})
	b := s.Release(t, "2", 2, map[string]string{"a.go": source(1500, 1) + "x", "b.go": source(900, 3)})
	good, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x10
		res, err := Apply(context.Background(), bytes.NewReader(bad), s.old(a), want(b), collect{}.out)
		if err == nil && !bytes.Equal(res.Note, b.Note) {
			t.Fatalf("byte %d flipped: a wrong note was returned", i)
		}
	}
}

// TestApplyMemory: a bundle that makes MaxContent bytes from a dictionary of
// MaxDict allocates about MaxDict + MaxWindow, not the content it makes.
func TestApplyMemory(t *testing.T) {
	s := newStore()
	old := map[string]string{"a": random(MaxDict-64<<10, 5)}
	nw := map[string]string{"a": old["a"][:1<<20] + strings.Repeat("q", MaxContent-1<<20)}
	a, b := s.Release(t, "1", 1, old), s.Release(t, "2", 2, nw)
	bun, listed, err := Make(s.input(a, b), Options{MaxFile: MaxContent})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 {
		t.Fatalf("listed %d files, want the 16 MiB one", len(listed))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Apply(context.Background(), bytes.NewReader(bun), s.old(a), want(b), func(manifest.File) (io.WriteCloser, error) {
		return nopCloser{io.Discard}, nil
	}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// The dictionary (the note and the base) and the decoder's window.
	limit := uint64(MaxDict + MaxWindow + 1<<20)
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("Apply allocated %.1f MiB (dictionary %d MiB, output %d MiB)", float64(got)/(1<<20), MaxDict>>20, MaxContent>>20)
	if got > limit {
		t.Fatalf("Apply allocated %d MiB for %d MiB of output, bound %d MiB", got>>20, MaxContent>>20, limit>>20)
	}
}

// TestMissingBase: an old content the origin no longer has is left out of
// the dictionary; the bundle still applies.
func TestMissingBase(t *testing.T) {
	t.Parallel()
	s := newStore()
	a := s.Release(t, "1", 1, map[string]string{"a.go": source(900, 1)})
	b := s.Release(t, "2", 2, map[string]string{"a.go": source(900, 1) + "x"})
	delete(s.Store, a.M.Files[0].SHA256)
	bun, listed, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 {
		t.Fatalf("listed %d files", len(listed))
	}
	old := s.old(a)
	old.Content = func(manifest.File) ([]byte, error) { panic("read a base the bundle does not name") }
	if _, err := Apply(context.Background(), bytes.NewReader(bun), old, want(b), collect{}.out); err != nil {
		t.Fatal(err)
	}
}

// TestAlone: a large, nearly unchanged file whose own patch is tiny is left
// out when the bundle shrinks by more than that patch costs; a file Alone
// does not offer is kept.
func TestAlone(t *testing.T) {
	t.Parallel()
	table := source(900_000, 7)
	s := newStore()
	a := s.Release(t, "1", 1, map[string]string{"table.txt": table, "app.go": source(2000, 8)})
	b := s.Release(t, "2", 2, map[string]string{"table.txt": strings.Replace(table, "range", "RANGE", 1), "app.go": source(2000, 8) + "// x\n"})
	for _, tc := range []struct {
		name   string
		cost   int64
		listed []string
	}{
		{"tiny patch", 50, []string{"app.go"}},
		{"patch dearer than the bundle's share", 1 << 20, []string{"app.go", "table.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			alone := func(f manifest.File) (int64, bool) { return tc.cost, f.Path == "table.txt" }
			bun, listed, err := Make(s.input(a, b), Options{Alone: alone})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.listed, paths(listed)); diff != "" {
				t.Fatalf("listed (-want +got):\n%s", diff)
			}
			if _, err := Apply(context.Background(), bytes.NewReader(bun), s.old(a), want(b), collect{}.out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// memNote is a NoteFile in memory.
type memNote struct {
	b   []byte
	off int
}

func (m *memNote) Write(p []byte) (int, error) {
	if m.off+len(p) > len(m.b) {
		m.b = append(m.b[:m.off], p...)
	} else {
		copy(m.b[m.off:], p)
	}
	m.off += len(p)
	return len(p), nil
}

func (m *memNote) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekStart || off < 0 || off > int64(len(m.b)) {
		return 0, io.ErrUnexpectedEOF
	}
	m.off = int(off)
	return off, nil
}

func (m *memNote) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.b).ReadAt(p, off)
}

// TestNoteOut: with Want.NoteOut the note goes there, as the signed one,
// and the files are those Apply makes in memory.
func TestNoteOut(t *testing.T) {
	s := newStore()
	many := map[string]string{}
	for i := range 300 {
		many[fmt.Sprintf("pkg%02d/f%03d.go", i%20, i)] = source(200, uint64(i))
	}
	next := map[string]string{"pkg00/new.go": source(100, 99)}
	for k, v := range many {
		next[k] = v
		if len(k)%4 == 0 {
			next[k] = v + "// edited\n"
		}
	}
	a, b := s.Release(t, "1", 1, many), s.Release(t, "2", 2, next)
	bun, _, err := Make(s.input(a, b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := Apply(context.Background(), bytes.NewReader(bun), s.old(a), want(b), collect{}.out)
	if err != nil {
		t.Fatal(err)
	}
	w, note := want(b), &memNote{}
	w.NoteOut = note
	got := collect{}
	res, err := Apply(context.Background(), bytes.NewReader(bun), s.old(a), w, got.out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(note.b, b.Note) || res.Note != nil {
		t.Fatal("the note written differs from the signed one")
	}
	if diff := cmp.Diff(mem.Files, res.Files); diff != "" || len(res.Files) == 0 {
		t.Fatalf("files (-memory +file):\n%s", diff)
	}
	for _, f := range res.Files {
		if got[f.Path].String() != next[f.Path] {
			t.Fatalf("%s: wrong content", f.Path)
		}
	}
	bad := bytes.Clone(bun)
	bad[len(bad)-3] ^= 0x40
	w.NoteOut = &memNote{}
	if _, err := Apply(context.Background(), bytes.NewReader(bad), s.old(a), w, collect{}.out); err == nil {
		t.Fatal("a damaged bundle was applied to a file")
	}
}
