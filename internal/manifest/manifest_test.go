package manifest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sample() *Manifest {
	return &Manifest{Channel: "stable", Version: "1.4.0", Sequence: 7,
		Created: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Expires: time.Date(2027, 11, 25, 12, 0, 0, 0, time.UTC),
		Files: []File{
			{Path: "bin/run.sh", Mode: 0o755, Size: 3, ZSize: 12, SHA256: sha256.Sum256([]byte("abc"))},
			{Path: "app/main.py", Mode: 0o644, Size: 0, ZSize: 9, SHA256: sha256.Sum256(nil)},
			{Path: "app/with space.txt", Mode: 0o600, Size: 1, ZSize: 10, SHA256: sha256.Sum256([]byte("x"))},
		}}
}

func TestManifestRoundTrip(t *testing.T) {
	t.Parallel()
	m := sample()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseManifest(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if f, ok := got.Lookup("app/with space.txt"); !ok || f.Size != 1 {
		t.Fatalf("Lookup: %+v %v", f, ok)
	}
	if _, ok := got.Lookup("nope"); ok {
		t.Fatal("Lookup found a missing path")
	}
	if got.TotalSize() != 4 {
		t.Fatalf("TotalSize %d", got.TotalSize())
	}
}

func TestParseManifestErrors(t *testing.T) {
	t.Parallel()
	good, _ := sample().Marshal()
	text := string(good)
	for _, tc := range []struct {
		name string
		edit func(string) string
		lim  Limits
		want error
		msg  string
	}{
		{"no trailing newline", func(s string) string { return strings.TrimSuffix(s, "\n") }, Limits{}, ErrFormat, "newline"},
		{"wrong magic", func(s string) string { return strings.Replace(s, "ferry-manifest", "ferry-manifesto", 1) }, Limits{}, ErrFormat, "not a ferry-manifest"},
		{"future version", func(s string) string { return strings.Replace(s, "ferry-manifest 1", "ferry-manifest 2", 1) }, Limits{}, ErrVersion, "version"},
		{"count too high", func(s string) string { return strings.Replace(s, "files 3", "files 4", 1) }, Limits{}, ErrFormat, "declares 4"},
		{"count too low", func(s string) string { return strings.Replace(s, "files 3", "files 2", 1) }, Limits{}, ErrFormat, "more file lines"},
		{"too many files", func(s string) string { return s }, Limits{MaxFiles: 2}, ErrTooLarge, "max_files"},
		{"file too large", func(s string) string { return s }, Limits{MaxFileSize: 2}, ErrTooLarge, "max_file_mb"},
		{"total too large", func(s string) string { return s }, Limits{MaxTotalSize: 3}, ErrTooLarge, "max_total_mb"},
		{"dotdot path", func(s string) string { return strings.Replace(s, "bin/run.sh", "../run.sh", 1) }, Limits{}, ErrPath, `".." component`},
		{"absolute path", func(s string) string { return strings.Replace(s, "bin/run.sh", "/bin/run.sh", 1) }, Limits{}, ErrPath, "absolute"},
		{"backslash path", func(s string) string { return strings.Replace(s, "bin/run.sh", `bin\run.sh`, 1) }, Limits{}, ErrPath, "backslash"},
		{"state folder", func(s string) string { return strings.Replace(s, "bin/run.sh", ".ferry/installed.json", 1) }, Limits{}, ErrPath, ".ferry"},
		{"setuid mode", func(s string) string { return strings.Replace(s, "f 0755", "f 4755", 1) }, Limits{}, ErrFormat, "permission bits"},
		{"bad digest", func(s string) string { return strings.Replace(s, sha256hex("abc"), "zz", 1) }, Limits{}, ErrFormat, "digest"},
		{"missing header", func(s string) string { return strings.Replace(s, "sequence 7\n", "", 1) }, Limits{}, ErrFormat, `"sequence"`},
		{"repeated key", func(s string) string { return strings.Replace(s, "sequence 7\n", "sequence 7\nsequence 8\n", 1) }, Limits{}, ErrFormat, "repeated"},
		{"negative size", func(s string) string { return strings.Replace(s, "f 0755 3 ", "f 0755 -3 ", 1) }, Limits{}, ErrFormat, "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseManifest([]byte(tc.edit(text)), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func sha256hex(s string) string { d := Digest(sha256.Sum256([]byte(s))); return d.String() }

func TestUnknownHeaderKeysIgnored(t *testing.T) {
	t.Parallel()
	good, _ := sample().Marshal()
	text := strings.Replace(string(good), "files 3", "future-key some value\nfiles 3", 1)
	if _, err := ParseManifest([]byte(text), Limits{}); err != nil {
		t.Fatalf("a new header key broke an old reader: %v", err)
	}
}

func TestMarshalRefusesWhatParseRefuses(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*Manifest){
		"bad path":      func(m *Manifest) { m.Files[0].Path = "a/../b" },
		"duplicate":     func(m *Manifest) { m.Files[1].Path = m.Files[0].Path },
		"file and dir":  func(m *Manifest) { m.Files[0].Path = "app"; m.Files[1].Path = "app/x" },
		"no expiry":     func(m *Manifest) { m.Expires = time.Time{} },
		"space version": func(m *Manifest) { m.Version = "1 2" },
	} {
		m := sample()
		edit(m)
		if _, err := m.Marshal(); err == nil {
			t.Errorf("%s: Marshal accepted it", name)
		}
	}
}

func TestPointerRoundTripAndErrors(t *testing.T) {
	t.Parallel()
	p := &Pointer{Channel: "stable", Version: "2.0", Sequence: 9, Manifest: sha256.Sum256([]byte("m")), ManifestSize: 99,
		Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Rollout: 20}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePointer(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	for name, edit := range map[string]func(string) string{
		"rollout 101":  func(s string) string { return strings.Replace(s, "rollout 20", "rollout 101", 1) },
		"no manifest":  func(s string) string { return strings.Replace(s, "manifest ", "manifesto ", 1) },
		"bad sequence": func(s string) string { return strings.Replace(s, "sequence 9", "sequence -9", 1) },
		"manifest doc": func(s string) string { return strings.Replace(s, "ferry-channel", "ferry-manifest", 1) },
	} {
		if _, err := ParsePointer([]byte(edit(string(data)))); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

// TestPointerKeys: the optional "keys" line round-trips, an agent-era
// pointer without it parses with Keys nil, and a malformed one is refused.
func TestPointerKeys(t *testing.T) {
	t.Parallel()
	p := &Pointer{Channel: "stable", Version: "2.0", Sequence: 9, Manifest: sha256.Sum256([]byte("m")), ManifestSize: 99,
		Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Rollout: 100, Keys: KeysRef{Version: 7, SHA256: sha256.Sum256([]byte("list"))}}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("keys 7 %x\n", sha256.Sum256([]byte("list")))
	if !strings.HasSuffix(string(data), want) {
		t.Fatalf("pointer text does not end in %q:\n%s", want, data)
	}
	got, err := ParsePointer(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	old, err := ParsePointer([]byte(strings.Replace(string(data), want, "", 1)))
	if err != nil || old.Keys != (KeysRef{}) {
		t.Fatalf("pointer without a keys line: %+v, %v; want no Keys", old, err)
	}
	for _, line := range []string{"keys 7", "keys 0 " + p.Keys.SHA256.String(), "keys x " + p.Keys.SHA256.String(), "keys 7 abc", "keys 7  " + p.Keys.SHA256.String()} {
		if _, err := ParsePointer([]byte(strings.Replace(string(data), want, line+"\n", 1))); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want ErrFormat", line, err)
		}
	}
	p.Keys.Version = 0
	if _, err := p.Marshal(); !errors.Is(err, ErrFormat) {
		t.Errorf("Marshal of keys version 0: err = %v, want ErrFormat", err)
	}
}

func TestValidPath(t *testing.T) {
	t.Parallel()
	for p, ok := range map[string]bool{
		"a": true, "a/b/c.txt": true, "dir with space/ünï.txt": true, ".hidden": true, "a/.ferryx": false,
		"": false, "/a": false, "a/": false, "a//b": false, "./a": false, "a/./b": false, "a/../b": false, "..": false,
		`a\b`: false, "C:/x": false, "c:x": false, "a\x00b": false, "a\nb": false, ".ferry": false, ".FERRY/x": false,
		strings.Repeat("a", MaxPathLen+1): false, "\xff": false,
	} {
		if err := ValidPath(p); (err == nil) != ok {
			t.Errorf("ValidPath(%q) = %v, want ok=%v", p, err, ok)
		} else if err != nil && !errors.Is(err, ErrPath) {
			t.Errorf("ValidPath(%q) error %v does not wrap ErrPath", p, err)
		}
	}
}

// TestSeedsParse keeps the committed fuzz seeds valid as the format evolves.
func TestSeedsParse(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.manifest")
	if len(files) == 0 {
		t.Fatal("no testdata/*.manifest seeds")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest(data, Limits{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestRelatedBase(t *testing.T) {
	t.Parallel()
	m := &Manifest{Files: []File{
		{Path: "cmd/a/main.go", Size: 10}, {Path: "cmd/b/main.go", Size: 30}, {Path: "internal/x/x.go", Size: 50},
		{Path: "internal/x/y.txt", Size: 5}, {Path: "internal/x/z.go", Size: 0}, {Path: "big.go", Size: RelatedMaxSize + 1},
	}}
	for p, want := range map[string]string{
		"cmd/c/main.go":      "cmd/b/main.go", // tie on "cmd/": the larger
		"cmd/a/other.go":     "cmd/a/main.go",
		"internal/x/new.go":  "internal/x/x.go", // z.go is empty
		"internal/x/new.txt": "internal/x/y.txt",
		"README.md":          "",
		"internal/y/deep.go": "internal/x/x.go",
	} {
		f, ok := m.RelatedBase(p)
		if got := f.Path; !ok && want != "" || ok && got != want {
			t.Errorf("RelatedBase(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
}
