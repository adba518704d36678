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

// TestDeltaUpdate: a small edit of a large file is downloaded as a patch
// (far fewer bytes than its blob); a corrupted patch on the origin is
// refused by the hash check and the agent falls back to the blob.
func TestDeltaUpdate(t *testing.T) {
	t.Parallel()
	for _, corrupt := range []bool{false, true} {
		t.Run(fmt.Sprintf("corrupt patch %v", corrupt), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			v1 := tree{"table.txt": numbered(20000, nil), "main.py": "print(1)\n"}
			v2 := tree{"table.txt": numbered(20000, map[int]string{777: "line seven-seven-seven, recalibrated"}), "main.py": "print(1)\n",
				// A new path: patched from the related old file (same extension, longest common prefix).
				"table-night.txt": numbered(20000, map[int]string{5: "line five, night mode"})}
			w.release("1.0", v1)
			if r := w.update(); r.code != 0 {
				t.Fatal(r.stderr)
			}
			w.release("2.0", v2)
			patches, _ := filepath.Glob(filepath.Join(w.origin, "deltas", "*", "*.patch"))
			if len(patches) < 3 {
				t.Fatalf("publisher made %d patches, want table.txt, table-night.txt (from table.txt) and the manifest", len(patches))
			}
			if corrupt {
				for _, p := range patches {
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
			if !corrupt && n > 1000 {
				t.Fatalf("a one-line edit of a %d-byte file and a near copy of it cost %d bytes: the patches were not used", len(v2["table.txt"]), n)
			}
			if corrupt && n < 1000 {
				t.Fatalf("with a corrupt patch the update cost only %d bytes: the blob was not fetched", n)
			}
		})
	}
}
