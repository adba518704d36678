package lora

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/mpyrun"
)

// TestStatusPayloadMatchesBoard runs the MicroPython package's
// ferry/lora.py in MicroPython and checks that its status uplink, payload
// and AT command of each family, is byte for byte this package's.
func TestStatusPayloadMatchesBoard(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	names := map[byte]string{ResultNever: "never", ResultUpdated: "updated", ResultUpToDate: "up-to-date",
		ResultDeferred: "deferred", ResultError: "error", ResultRolledBack: "rolled-back"}
	var py strings.Builder
	py.WriteString("from ferry import lora\nfrom binascii import hexlify\n")
	var want []string
	for _, tc := range uplinkCases {
		fmt.Fprintf(&py, "p = lora.status_payload(%q, %d, %q, %d)\nprint(hexlify(p).decode())\n", names[tc.result], tc.seq, tc.version, tc.maxLen)
		want = append(want, tc.want)
		for _, m := range []string{ModuleRUI3, ModuleE5, ModuleReyax} {
			fmt.Fprintf(&py, "print(lora.uplink_command(%q, p))\n", m)
			b, _ := hex.DecodeString(tc.want)
			cmd, err := UplinkCommand(m, b)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, cmd)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "uplink.py")
	if err := os.WriteFile(file, []byte(py.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.Exec(t, 0, file)
	if res.Code != 0 {
		t.Fatalf("MicroPython: %s", res)
	}
	got := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	for i := range max(len(got), len(want)) {
		g, w := at(got, i), at(want, i)
		if strings.TrimSpace(g) != w {
			t.Errorf("line %d: the board says %q, Go %q", i+1, g, w)
		}
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}
