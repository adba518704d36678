package healthlog

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad opens arbitrary file contents (a log torn or corrupted by a bad
// flash): never a panic, never more than the limit in memory, and the
// rotated file loads back to the same window.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"time":"2026-05-01T00:00:00Z","kind":"check"}` + "\n"))
	f.Add([]byte(`{"time":"2026-05-01T00:00:00Z","kind":"totals","counts":{"check":-5,"update":3}}` + "\n{\"ki"))
	f.Add([]byte(`{"kind":"update","pinned":true}` + "\n\n\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), FileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(path, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := l.Summary()
		if len(s.Recent) > 3 {
			t.Fatalf("%d entries kept, limit 3", len(s.Recent))
		}
		for k, n := range s.Counts {
			if n < 0 {
				t.Fatalf("negative count %d for %q", n, k)
			}
		}
		again, err := Read(path, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Recent) != len(s.Recent) {
			t.Fatalf("reloaded %d entries, had %d", len(again.Recent), len(s.Recent))
		}
	})
}
