package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/agent/canary"
	"github.com/ferry-ota/ferry/internal/config"
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

// TestMicroPythonConfigKeys: every key of the Linux agent's config
// (internal/config's toml tags, the [github] table's too) is a key of the
// board's ferry.json with the same name, or one the board refuses with what
// to use instead; none is unknown to it.
func TestMicroPythonConfigKeys(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	py := filepath.Join(t.TempDir(), "keys.py")
	src := "from ferry import config\nfor k in config.DEFAULTS: print('key', k)\nfor k in config.GITHUB_DEFAULTS: print('key github.' + k)\nfor k in config._LINUX_ONLY: print('linux', k)\n"
	if err := os.WriteFile(py, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.Exec(t, 0, py)
	if res.Code != 0 {
		t.Fatalf("keys.py: %s", res)
	}
	board, linuxOnly := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		kind, key, _ := strings.Cut(l, " ")
		if kind == "key" {
			board[key] = true
		} else {
			linuxOnly[key] = true
		}
	}
	var keys []string
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("toml"), ",")[0]
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case f.Anonymous:
				walk(ft, prefix)
			case tag == "github":
				keys = append(keys, tag)
				walk(ft, "github.")
			case tag != "":
				keys = append(keys, prefix+tag)
			}
		}
	}
	walk(reflect.TypeOf(config.Config{}), "")
	if len(keys) < 40 {
		t.Fatalf("found only %d keys in internal/config", len(keys))
	}
	for _, k := range keys {
		if !board[k] && !linuxOnly[k] {
			t.Errorf("the Linux agent's key %q is unknown to the board's ferry.json", k)
		}
	}
}
