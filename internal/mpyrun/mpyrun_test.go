package mpyrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePy(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExecExitCodes: the runner's exit status tells a file that ran to its
// end from one that raised or called sys.exit, and argv reaches the file.
func TestExecExitCodes(t *testing.T) {
	r := Need(t)
	dir := t.TempDir()
	writePy(t, dir, "helper.py", "X = 41\n")
	cases := []struct {
		name, src string
		code      int
		out, err  string
	}{
		{"ok.py", "import sys, helper\nprint('argv', sys.argv[1:], helper.X + 1)\n", 0, "argv ['a', 'b'] 42", ""},
		{"raise.py", "raise ValueError('boom here')\n", 1, "", "boom here"},
		{"exit.py", "import sys\nsys.exit(3)\n", 3, "", ""},
		{"pkg.py", "import sys\nprint('/pkg' in sys.path)\n", 0, "True", ""},
	}
	for _, c := range cases {
		res := r.Exec(t, 0, writePy(t, dir, c.name, c.src), "a", "b")
		if res.Code != c.code || !strings.Contains(res.Stdout, c.out) || !strings.Contains(res.Stderr, c.err) {
			t.Errorf("%s: want exit %d, stdout %q, stderr %q; got %s", c.name, c.code, c.out, c.err, res)
		}
	}
}

// TestSetupWithoutNode: without node on PATH, setup names what is missing,
// which Need turns into a skip with InstallHint (a failure in CI).
func TestSetupWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := setup(); err == nil || !strings.Contains(err.Error(), "node") {
		t.Fatalf("setup with an empty PATH: %v", err)
	}
}
