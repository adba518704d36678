package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/mpyrun"
)

// TestMicroPythonPackageJSON: micropython/package.json, which `mpremote mip
// install` reads, lists every file of the ferry package (and nothing else),
// each fetched from its own path beside package.json, and has a version.
func TestMicroPythonPackageJSON(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "micropython", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		URLs    [][2]string `json:"urls"`
		Version string      `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatalf("micropython/package.json: %v", err)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(pkg.Version) {
		t.Errorf("version %q: want MAJOR.MINOR.PATCH", pkg.Version)
	}
	listed := map[string]bool{}
	for _, u := range pkg.URLs {
		if u[0] != u[1] {
			t.Errorf("%q is fetched from %q: want the same relative path", u[0], u[1])
		}
		listed[u[0]] = true
	}
	files, _ := filepath.Glob(filepath.Join("..", "micropython", "ferry", "*.py"))
	for _, f := range files {
		p := "ferry/" + filepath.Base(f)
		if !listed[p] {
			t.Errorf("micropython/package.json does not list %s", p)
		}
		delete(listed, p)
	}
	for p := range listed {
		t.Errorf("micropython/package.json lists %s, which is not in micropython/ferry/", p)
	}
}

// TestMicroPythonCanaryMatchesLinux: the board's canary bucket (ferry.bucket)
// is internal/agent/canary's, so a staged rollout reaches the same boards
// whichever agent they run.
func TestMicroPythonCanaryMatchesLinux(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	var ids, versions []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("e6614103e7%06x", i*7919))
		versions = append(versions, fmt.Sprintf("1.%d.0", i%7))
	}
	py := filepath.Join(t.TempDir(), "canary.py")
	src := "import ferry\nfor d, v in zip(" + pyList(ids) + ", " + pyList(versions) + "):\n    print(ferry.bucket(d, v))\n"
	if err := os.WriteFile(py, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.Exec(t, 0, py)
	got := strings.Fields(res.Stdout)
	if res.Code != 0 || len(got) != len(ids) {
		t.Fatalf("canary.py: %s", res)
	}
	for i := range ids {
		if want := strconv.Itoa(canary.Bucket(ids[i], versions[i])); got[i] != want {
			t.Errorf("bucket(%s, %s): board %s, linux %s", ids[i], versions[i], got[i], want)
		}
	}
}

func pyList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
