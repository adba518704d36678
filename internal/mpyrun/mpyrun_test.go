package mpyrun

import (
	"os"
	"os/exec"
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

// TestNeedWithoutNode: without node, Need skips the test with the install
// command on a developer's machine and fails it in CI (CI=true). Run in a
// child process of this test binary, with an empty PATH.
func TestNeedWithoutNode(t *testing.T) {
	if os.Getenv("MPYRUN_NEED_CHILD") == "1" {
		Need(t)
		return
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedWithoutNode$", "-test.v")
		cmd.Env = []string{"MPYRUN_NEED_CHILD=1", "PATH=" + t.TempDir(), "CI=" + ci, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		skipped := strings.Contains(string(out), "--- SKIP") && strings.Contains(string(out), InstallHint)
		failed := err != nil && strings.Contains(string(out), "unavailable in CI")
		if ci == "" && (!skipped || err != nil) || ci == "true" && !failed {
			t.Errorf("CI=%q: want a %s: %v\n%s", ci, map[string]string{"": "skip", "true": "failure"}[ci], err, out)
		}
	}
}
