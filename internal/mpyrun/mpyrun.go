package mpyrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/flock"
)

// InstallHint is the command that installs what the runner needs.
const InstallHint = "install node (apt-get install nodejs npm) and run npm --prefix micropython/runner ci"

// DefaultTimeout bounds one run, so that a hang fails the test instead of
// stalling it (generous: the power-cut tests take a minute on a loaded machine).
const DefaultTimeout = 5 * time.Minute

// Runner runs MicroPython files with node and the runner package.
type Runner struct {
	Node string // the node executable
	Root string // the repository root (holds go.mod and micropython/)
}

// Result is what one run printed and how it ended.
type Result struct {
	Stdout, Stderr string
	Code           int // the process's exit status: 0 = ran to its end
}

// String sums a result up for a failure message.
func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

var (
	setupOnce sync.Once
	setupR    *Runner
	setupErr  error
)

// Need returns a Runner, or ends the test: skipped with InstallHint outside
// CI when node or the runner package is missing, failed in CI (CI=true).
func Need(t testing.TB) *Runner {
	t.Helper()
	setupOnce.Do(func() { setupR, setupErr = setup() })
	if setupErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MicroPython runner unavailable in CI: %v (.ci/run must %s)", setupErr, InstallHint)
		}
		t.Skipf("MicroPython runner unavailable: %v: %s", setupErr, InstallHint)
	}
	return setupR
}

// setup finds node and the repository, and installs the runner's npm
// package when it is missing and npm is there.
func setup() (*Runner, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not installed")
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	r := &Runner{Node: node, Root: root}
	if _, err := os.Stat(r.modules()); err == nil {
		return r, nil
	}
	if err := r.npmCI(); err != nil {
		return nil, err
	}
	return r, nil
}

// RepoRoot walks up from the working directory to the folder holding go.mod
// and micropython/.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("mpyrun: %w", err)
	}
	for {
		_, e1 := os.Stat(filepath.Join(dir, "go.mod"))
		_, e2 := os.Stat(filepath.Join(dir, "micropython", "runner", "exec.mjs"))
		if e1 == nil && e2 == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("mpyrun: no repository root (go.mod with micropython/runner/exec.mjs) above the working directory")
		}
		dir = up
	}
}

// RunnerDir is micropython/runner.
func (r *Runner) RunnerDir() string { return filepath.Join(r.Root, "micropython", "runner") }

func (r *Runner) modules() string {
	return filepath.Join(r.RunnerDir(), "node_modules", "@micropython", "micropython-webassembly-pyscript", "micropython.mjs")
}

// npmCI runs `npm ci` in the runner folder once across processes.
func (r *Runner) npmCI() error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("micropython/runner/node_modules is missing and npm is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	unlock, err := flock.Lock(ctx, filepath.Join(os.TempDir(), "ferry-mpyrun-npm.lock"))
	if err != nil {
		return fmt.Errorf("lock for npm ci: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(r.modules()); err == nil {
		return nil // another process installed it while we waited
	}
	cmd := exec.CommandContext(ctx, npm, "--prefix", r.RunnerDir(), "ci", "--prefer-offline", "--no-audit", "--no-fund")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm --prefix micropython/runner ci: %w: %s", err, bytes.TrimSpace(out))
	}
	if _, err := os.Stat(r.modules()); err != nil {
		return fmt.Errorf("npm ci did not install the MicroPython package: %w", err)
	}
	return nil
}

// Exec runs file (a .py path) in MicroPython with args in sys.argv; heap is
// the MicroPython heap in bytes (0: the runner's default).
func (r *Runner) Exec(t testing.TB, heap int, file string, args ...string) Result {
	t.Helper()
	a := []string{filepath.Join(r.RunnerDir(), "exec.mjs")}
	if heap > 0 {
		a = append(a, "--heap", fmt.Sprint(heap))
	}
	return r.Command(t, r.Node, append(append(a, file), args...)...)
}

// Run runs the board simulator: micropython/run DIR args...
func (r *Runner) Run(t testing.TB, dir string, args ...string) Result {
	t.Helper()
	run := filepath.Join(r.Root, "micropython", "run")
	return r.Command(t, run, append([]string{dir}, args...)...)
}

// Command runs name with args under DefaultTimeout; a failure to start or a
// timeout fails the test, an exit status is returned in the Result.
func (r *Runner) Command(t testing.TB, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: timed out after %v\n%s", filepath.Base(name), strings.Join(args, " "), DefaultTimeout, res)
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return res
}
