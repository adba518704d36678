package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteIfChanged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing *string
		data     string
		want     bool
	}{
		{"new file", nil, "a", true},
		{"same content", ptr("a"), "a", false},
		{"different content", ptr("a"), "b", true},
		{"empty to empty", ptr(""), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := filepath.Join(dir, "s.json")
			if tt.existing != nil {
				if err := os.WriteFile(p, []byte(*tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.Stat(p)
			got, err := WriteIfChanged(p, []byte(tt.data), 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("wrote = %v, want %v", got, tt.want)
			}
			b, _ := os.ReadFile(p)
			if string(b) != tt.data {
				t.Errorf("content %q, want %q", b, tt.data)
			}
			after, _ := os.Stat(p)
			if !tt.want && !os.SameFile(before, after) {
				t.Error("unchanged file was rewritten")
			}
			entries, _ := os.ReadDir(dir)
			if diff := cmp.Diff([]string{"s.json"}, names(entries)); diff != "" {
				t.Errorf("leftover files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := Write(filepath.Join(dir, "missing", "s.json"), []byte("x"), 0o600)
	if !errors.Is(err, ErrWrite) {
		t.Errorf("Write into a missing dir: %v, want ErrWrite", err)
	}
	p := filepath.Join(dir, "adir")
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteIfChanged(p, []byte("x"), 0o600); !errors.Is(err, ErrWrite) {
		t.Errorf("WriteIfChanged over a dir: %v, want ErrWrite", err)
	}
}

func TestWritePerm(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "s")
	if err := Write(p, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
}

func ptr(s string) *string { return &s }

func names(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestRemove(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "marker")
	if err := Write(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time there is nothing to remove
		if err := Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove: %v", err)
	}
	if err := Remove(filepath.Join(dir, "missing", "x")); err != nil {
		t.Errorf("Remove in a missing dir: %v, want nil", err)
	}
}
