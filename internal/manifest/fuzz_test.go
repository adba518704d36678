package manifest

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParseManifest: any input either fails cleanly or round-trips through
// Marshal to a document that parses to the same manifest.
func FuzzParseManifest(f *testing.F) {
	addSeeds(f, "testdata/*.manifest")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data, Limits{MaxFiles: 1000})
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if err := ValidPath(file.Path); err != nil {
				t.Fatalf("parsed an invalid path: %v", err)
			}
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed manifest does not marshal: %v", err)
		}
		m2, err := ParseManifest(out, Limits{MaxFiles: 1000})
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, _ := m2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzParsePointer(f *testing.F) {
	addSeeds(f, "testdata/*.pointer")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePointer(data)
		if err != nil {
			return
		}
		if p.Rollout < 0 || p.Rollout > 100 {
			t.Fatalf("accepted rollout %d", p.Rollout)
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("parsed pointer does not marshal: %v", err)
		}
		if _, err := ParsePointer(out); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzValidPath checks ValidPath against the standard library's own oracle:
// whatever it accepts is a clean, local path in slash and OS form.
func FuzzValidPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "/abs", `a\b`, "C:/x", ".ferry/x", "a//b", "ü/ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidPath(p) != nil {
			return
		}
		if !filepath.IsLocal(p) || path.Clean(p) != p || strings.ContainsRune(p, '\\') {
			t.Fatalf("accepted escaping or unclean path %q", p)
		}
	})
}
