package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// scanAll reads data with a Scanner and returns the manifest it read.
func scanAll(data []byte, lim Limits) (*Manifest, error) {
	s, err := NewScanner(bytes.NewReader(data), lim)
	if err != nil {
		return nil, err
	}
	m := s.Header
	for s.Next() {
		m.Files = append(m.Files, s.File())
	}
	return m, s.Err()
}

func manyFiles(n int) []byte {
	m := &Manifest{Channel: "stable", Version: "1", Sequence: 1, Created: time.Unix(0, 0), Expires: time.Unix(1e9, 0)}
	for i := range n {
		m.Files = append(m.Files, File{Path: fmt.Sprintf("d%02d/f%05d", i%7, i), Mode: 0o644, Size: int64(i), SHA256: Digest{1}})
	}
	data, err := m.Marshal()
	if err != nil {
		panic(err)
	}
	return data
}

func TestScannerReadsWhatParseReads(t *testing.T) {
	data := manyFiles(500)
	want, err := ParseManifest(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanAll(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Files, want.Files) || got.Version != want.Version || got.Sequence != want.Sequence {
		t.Fatalf("scanner read %d files, parse %d", len(got.Files), len(want.Files))
	}
}

func TestScannerRefuses(t *testing.T) {
	good := string(manyFiles(3))
	lines := strings.SplitAfter(good, "\n")
	hdr := strings.Join(lines[:6], "")
	file := func(p string) string { return fmt.Sprintf("f 0644 1 1 %s %s\n", Digest{1}, p) }
	for name, tc := range map[string]struct {
		doc  string
		lim  Limits
		want error
	}{
		"conflict":     {hdr + "files 3\n" + file("a") + file("a.txt") + file("a/b"), Limits{}, ErrPath},
		"order":        {hdr + "files 2\n" + file("b") + file("a"), Limits{}, ErrFormat},
		"repeat":       {hdr + "files 2\n" + file("a") + file("a"), Limits{}, ErrFormat},
		"count over":   {hdr + "files 1\n" + file("a") + file("b"), Limits{}, ErrFormat},
		"count under":  {hdr + "files 3\n" + file("a") + file("b"), Limits{}, ErrFormat},
		"no newline":   {strings.TrimSuffix(good, "\n"), Limits{}, ErrFormat},
		"max files":    {good, Limits{MaxFiles: 2}, ErrTooLarge},
		"max total":    {good, Limits{MaxTotalSize: 1}, ErrTooLarge},
		"max file":     {hdr + "files 1\n" + "f 0644 9 1 " + Digest{1}.String() + " a\n", Limits{MaxFileSize: 8}, ErrTooLarge},
		"bad path":     {hdr + "files 1\n" + file("../a"), Limits{}, ErrPath},
		"no files":     {hdr, Limits{}, ErrFormat},
		"not manifest": {"ferry-channel 1\n", Limits{}, ErrFormat},
	} {
		_, err := scanAll([]byte(tc.doc), tc.lim)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
		if _, perr := ParseManifest([]byte(tc.doc), tc.lim); !errors.Is(perr, tc.want) {
			t.Errorf("%s: ParseManifest err = %v, want %v too", name, perr, tc.want)
		}
	}
}

func TestRelatedIsRelatedBase(t *testing.T) {
	m, err := ParseManifest(manyFiles(300), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"d03/f00100x", "d01/zzz", "e", "d06/f0"} {
		r := NewRelated(p)
		for _, f := range m.Files {
			r.Consider(f)
		}
		got, ok := r.Base()
		want, wok := m.RelatedBase(p)
		if ok != wok || got != want {
			t.Errorf("%s: Related picks %v %v, RelatedBase %v %v", p, got.Path, ok, want.Path, wok)
		}
	}
}

// FuzzScanner: the Scanner accepts exactly what ParseManifest accepts, and
// reads the same files.
func FuzzScanner(f *testing.F) {
	addSeeds(f, "testdata/*.manifest")
	f.Add(manyFiles(20))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxFiles: 1000}
		want, perr := ParseManifest(data, lim)
		got, serr := scanAll(data, lim)
		if (perr == nil) != (serr == nil) {
			t.Fatalf("ParseManifest: %v; Scanner: %v", perr, serr)
		}
		if perr == nil && !slices.Equal(got.Files, want.Files) {
			t.Fatalf("Scanner read other files")
		}
	})
}
