package e2e

// Bytes a MicroPython board downloads for an update against the Linux
// agent's on the same releases (issue #14: at most 2×). Both count what
// they fetch after the channel pointer (the manifest, its patch or bundle,
// file contents), as their "updated ... (N files, M bytes)" lines report.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mpyBound is the goal: a board downloads at most this many times the Linux
// agent's bytes for the same update.
const mpyBound = 2.0

// pyModule is a deterministic Python module of about 2 KB, numbered i.
func pyModule(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# module %d of the application\nimport time\n\nLIMIT_%d = %d\n\n", i, i, i*37%1000)
	for k := range 12 {
		fmt.Fprintf(&b, "def step_%d_%d(state, reading):\n    if reading > LIMIT_%d + %d:\n        state['alarm_%d'] = time.time()\n    return state\n\n", i, k, i, k*3, k)
	}
	return b.String()
}

// compareBytes updates a board and the Linux agent from old to new
// (published --for linux,micropython as 1.0 and 2.0, the board and the
// agent on 1.0 first) and returns the bytes each downloaded for 1.0 -> 2.0,
// and the size of 2.0's manifest note.
func compareBytes(t *testing.T, old, new tree) (board, linux, note int64) {
	t.Helper()
	w := newWorld(t)
	b := newBoard(t, w, nil)
	w.release("1.0", old, forBoth...)
	b.updated("(none)", "1.0", len(old))
	linuxBytes(t, w.update())
	w.release("2.0", new, forBoth...)
	board = b.updated("1.0", "2.0", len(diff(contents(old), contents(new))))
	if got := b.files(true); len(diff(got, contents(new))) != 0 {
		t.Fatalf("board after 2.0: differs in %v", diff(got, contents(new)))
	}
	linux = linuxBytes(t, w.update())
	return board, linux, int64(len(w.readOrigin("releases/2.0/manifest.note")))
}

// checkBound logs the figures of a case and fails it over bound times the
// Linux agent's bytes.
func checkBound(t *testing.T, name string, board, linux int64, bound float64) {
	t.Helper()
	ratio := float64(board) / float64(linux)
	t.Logf("%s: board %d bytes, linux agent %d bytes, ratio %.2f (goal %.0f×)", name, board, linux, ratio, mpyBound)
	if ratio > bound {
		t.Errorf("%s: the board downloaded %d bytes, %.2f× the Linux agent's %d; want at most %.1f×", name, board, ratio, linux, bound)
	}
}

// TestMicroPythonBytes200: five small edits in a 200-file release. The board
// rebuilds the manifest note from the one it holds and each file from its
// old content (the update bundle), instead of downloading the whole file
// list.
func TestMicroPythonBytes200(t *testing.T) {
	t.Parallel()
	old := tree{}
	for i := range 200 {
		old[fmt.Sprintf("app/mod%03d.py", i)] = pyModule(i)
	}
	new := tree{}
	for p, c := range old {
		new[p] = c
	}
	for _, i := range []int{3, 41, 99, 150, 198} {
		p := fmt.Sprintf("app/mod%03d.py", i)
		new[p] = strings.Replace(old[p], fmt.Sprintf("LIMIT_%d = ", i), fmt.Sprintf("LIMIT_%d = 1 + ", i), 1)
	}
	board, linux, note := compareBytes(t, old, new)
	if board >= note {
		t.Errorf("the board downloaded %d bytes, not less than the %d-byte manifest note: neither the bundle nor the note's .mpatch was used", board, note)
	}
	// The board takes the update bundle (.mbundle, one request): the note's
	// commands without the five new digests (the board computes them) and
	// the five edits, in one zlib stream; about 1.14× the Linux agent's
	// bytes (2.84× before the bundle, when the board paid each digest in the
	// note's .mpatch and a zlib stream a file).
	checkBound(t, "5 small edits in a 200-file release", board, linux, mpyBound)
}

// TestMicroPythonBytesTrees: a real tree pair, FERRY_MPY_TREES=OLD,NEW (two
// folders; a board's caps apply: at most 500 files, 1 MiB each, 2 MiB in
// all), for example two versions of golang.org/x/mod from the module cache:
//
//	M=$(go env GOMODCACHE)/golang.org/x/mod
//	FERRY_MPY_TREES=$M@v0.41.0,$M@v0.43.0 go test -count=1 -run TestMicroPythonBytesTrees -v ./e2e/
//
// Without the variable there is no pair to measure and the test says so.
func TestMicroPythonBytesTrees(t *testing.T) {
	spec := os.Getenv("FERRY_MPY_TREES")
	dirs := strings.Split(spec, ",")
	if len(dirs) != 2 {
		t.Skip("no tree pair: set FERRY_MPY_TREES=OLD,NEW (two folders) to measure one")
	}
	t.Parallel()
	old, new := loadTree(t, dirs[0]), loadTree(t, dirs[1])
	board, linux, _ := compareBytes(t, old, new)
	checkBound(t, fmt.Sprintf("%s -> %s (%d -> %d files)", filepath.Base(dirs[0]), filepath.Base(dirs[1]), len(old), len(new)), board, linux, mpyBound)
}

// loadTree reads every regular file under dir as a release tree.
func loadTree(t *testing.T, dir string) tree {
	t.Helper()
	out := tree{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatalf("FERRY_MPY_TREES: %v", err)
	}
	return out
}
