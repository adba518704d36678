package manifest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func gitManifest() *Manifest {
	m := &Manifest{Channel: "developer", Version: "0123456789ab", Created: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Expires: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}
	f1 := File{Path: "bin/run.sh", Mode: 0o755, Size: 3, ZSize: 3}
	copy(f1.GitSHA1[:], []byte("0123456789abcdefghij"))
	f2 := File{Path: "app/main.py", Mode: 0o644, Size: 0, ZSize: 0}
	f2.GitSHA1[19] = 1
	m.Files = []File{f1, f2}
	return m
}

func TestGitLineRoundTrip(t *testing.T) {
	t.Parallel()
	m := gitManifest()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "g 0644 0 0 0000000000000000000000000000000000000001 app/main.py\n" +
		"g 0755 3 3 303132333435363738396162636465666768696a bin/run.sh\n"
	if !strings.HasSuffix(string(data), want) {
		t.Fatalf("Marshal file lines:\n%s\nwant suffix:\n%s", data, want)
	}
	got, err := ParseManifest(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.Signed() {
		t.Error("Signed() = true for a manifest of git file lines")
	}
}

func TestSigned(t *testing.T) {
	t.Parallel()
	var sum Digest
	sum[0] = 1
	tests := []struct {
		name  string
		files []File
		want  bool
	}{
		{"empty", nil, true},
		{"sha256", []File{{Path: "a", SHA256: sum}}, true},
		{"zero sha256", []File{{Path: "a", SHA256: sum}, {Path: "b"}}, false},
		{"git", []File{{Path: "a", SHA256: sum}, {Path: "b", GitSHA1: [20]byte{1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &Manifest{Files: tt.files}
			if got := m.Signed(); got != tt.want {
				t.Errorf("Signed() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGitLineErrors(t *testing.T) {
	t.Parallel()
	head := "ferry-manifest 1\nchannel developer\nversion abc\nsequence 0\ncreated 2026-11-25T12:00:00Z\nexpires 9999-12-31T00:00:00Z\nfiles 1\n"
	tests := []struct {
		name, line string
		want       error
	}{
		{"short sha", "g 0644 1 1 0123 a", ErrFormat},
		{"not hex", "g 0644 1 1 zz23456789012345678901234567890123456789 a", ErrFormat},
		{"zero sha", "g 0644 1 1 0000000000000000000000000000000000000000 a", ErrFormat},
		{"bad mode", "g 1644 1 1 0123456789012345678901234567890123456789 a", ErrFormat},
		{"bad size", "g 0644 -1 1 0123456789012345678901234567890123456789 a", ErrFormat},
		{"bad zsize", "g 0644 1 x 0123456789012345678901234567890123456789 a", ErrFormat},
		{"few fields", "g 0644 1 1 0123456789012345678901234567890123456789", ErrFormat},
		{"bad path", "g 0644 1 1 0123456789012345678901234567890123456789 ../a", ErrPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseManifest([]byte(head+tt.line+"\n"), Limits{})
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseManifest(%q) error = %v, want %v", tt.line, err, tt.want)
			}
		})
	}
}

func TestBothHashesRefused(t *testing.T) {
	t.Parallel()
	m := gitManifest()
	m.Files[0].SHA256[0] = 1
	if _, err := m.Marshal(); !errors.Is(err, ErrFormat) {
		t.Errorf("Marshal of a file with SHA-256 and git SHA-1: error = %v, want %v", err, ErrFormat)
	}
}
