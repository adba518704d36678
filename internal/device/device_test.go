package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/trust"
)

// TestRootThresholdFloor: the threshold `ferry keygen --threshold` writes
// into root.pub is a floor: a config asking for less (or nothing) gets the
// file's, a config asking for more keeps its own.
func TestRootThresholdFloor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	if err := keys.Generate(keyDir, keys.GenerateOptions{Roots: 3, Threshold: 2, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want int
	}{{"", 2}, {"root_threshold = 1\n", 2}, {"root_threshold = 2\n", 2}, {"root_threshold = 3\n", 3}} {
		toml := fmt.Sprintf("origin = %q\ntarget = %q\nstate = %q\nroot_keys = [%q]\n%s",
			filepath.Join(dir, "origin"), filepath.Join(dir, "app"), filepath.Join(dir, "state"), filepath.Join(keyDir, "root.pub"), tc.line)
		cfg, err := config.Parse([]byte(toml), dir)
		if err != nil {
			t.Fatal(err)
		}
		roots, err := LoadRoots(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if roots.Threshold != tc.want {
			t.Errorf("%q: threshold %d, want %d", tc.line, roots.Threshold, tc.want)
		}
		// What the threshold guards: a list signed by one root key only.
		one, _ := os.ReadFile(filepath.Join(keyDir, "root-1.key"))
		text, _ := trust.NoteText(mustRead(t, filepath.Join(keyDir, keys.ListFile)))
		msg, _ := trust.Sign(text, string(one))
		if _, err := roots.OpenKeyList(msg, time.Now()); !errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("%q: list with one root signature: %v, want ErrUntrusted", tc.line, err)
		}
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
