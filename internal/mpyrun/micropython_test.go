package mpyrun

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestMicroPython runs every micropython/tests/test_*.py in MicroPython as a
// subtest; a file passes when it runs to its end (exit status 0).
func TestMicroPython(t *testing.T) {
	r := Need(t)
	files, err := filepath.Glob(filepath.Join(r.Root, "micropython", "tests", "test_*.py"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no micropython/tests/test_*.py found")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".py")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := r.Exec(t, 0, f)
			if res.Code != 0 {
				t.Fatalf("%s failed: %s", filepath.Base(f), res)
			}
			t.Log(strings.TrimSpace(res.Stdout))
		})
	}
}
