package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func numbered(n int, edit map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		line, ok := edit[i]
		if !ok {
			line = fmt.Sprintf("line %d of the sensor firmware table", i)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

var updatedBytes = regexp.MustCompile(`\((\d+) files, (\d+) bytes\)`)

// TestDeltaUpdate: a small edit of a large file and a near copy of it are
// downloaded as an update bundle, or, without the bundle, as patches (far
// fewer bytes than their blobs either way); corrupted bundles and patches on
// the origin are refused by the hash checks and the agent falls back to the
// blobs.
func TestDeltaUpdate(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"bundle", "patches", "corrupt"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			code := func(name string, edit map[int]string) string {
				return strings.ReplaceAll(numbered(60, edit), "of the sensor firmware table", "= calibrate("+name+")")
			}
			v1 := tree{"table.txt": numbered(20000, nil), "main.py": "print(1)\n", "app/filters.py": code("f", nil), "app/units.py": code("u", nil)}
			v2 := tree{"table.txt": numbered(20000, map[int]string{777: "line seven-seven-seven, recalibrated"}), "main.py": "print(1)\n",
				// A new path: patched from the related old file (same extension, longest common prefix).
				"table-night.txt": numbered(20000, map[int]string{5: "line five, night mode"}),
				// Small source edits and a new module: what the bundle is for.
				"app/filters.py": code("f", map[int]string{7: "gain = 1.5"}), "app/units.py": code("u", map[int]string{30: "unit = 'mV'"}),
				"app/solar.py": code("s", map[int]string{1: "import units"})}
			w.release("1.0", v1)
			if r := w.update(); r.code != 0 {
				t.Fatal(r.stderr)
			}
			w.release("2.0", v2)
			patches, _ := filepath.Glob(filepath.Join(w.origin, "deltas", "*", "*.patch"))
			if len(patches) < 3 {
				t.Fatalf("publisher made %d patches, want table.txt, table-night.txt (from table.txt), the .py files and the manifest", len(patches))
			}
			bundles, _ := filepath.Glob(filepath.Join(w.origin, "deltas", "*", "*.bundle"))
			if len(bundles) != 1 {
				t.Fatalf("publisher made %d bundles, want 1", len(bundles))
			}
			switch mode {
			case "patches":
				os.Remove(bundles[0])
			case "corrupt":
				for _, p := range append(patches, bundles...) {
					data, _ := os.ReadFile(p)
					data[len(data)-1] ^= 0xff
					os.WriteFile(p, data, 0o644)
				}
			}
			r := w.update()
			m := updatedBytes.FindStringSubmatch(r.stdout)
			if r.code != 0 || m == nil {
				t.Fatalf("update: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			if got := readTree(t, w.target); !sameMap(got, want(v2)) {
				t.Fatal("target is not exactly 2.0")
			}
			n, _ := strconv.Atoi(m[2])
			if mode != "corrupt" && n > 1000 {
				t.Fatalf("a one-line edit of a %d-byte file and a near copy of it cost %d bytes: the %s was not used", len(v2["table.txt"]), n, mode)
			}
			if mode == "corrupt" && n < 1000 {
				t.Fatalf("with corrupt deltas the update cost only %d bytes: the blobs were not fetched", n)
			}
			t.Logf("%s: %d bytes", mode, n)
		})
	}
}
