package e2e

// The MicroPython update bundle (internal/mbundle, micropython/ferry/
// mbundle.py) end to end: refused when it does not make the note the
// pointer names; not used when a base file changed on the board.

import (
	"bytes"
	"compress/zlib"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/publish"
)

// tamperMBundle replaces old with new in the decoded commands of every
// .mbundle of the origin, and compresses them again as the publisher does:
// a well-formed bundle that makes other content.
func tamperMBundle(t *testing.T, w *world, old, new string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(w.origin, "deltas"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".mbundle") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return err
		}
		cmds, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		if !bytes.Contains(cmds, []byte(old)) {
			t.Fatalf("%s does not carry %q", p, old)
		}
		var z bytes.Buffer
		if _, err := publish.EncodeZlib(&z, bytes.NewReader(bytes.Replace(cmds, []byte(old), []byte(new), 1))); err != nil {
			return err
		}
		n++
		return os.WriteFile(p, z.Bytes(), 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("tamper with the .mbundle bundles: %d, %v", n, err)
	}
}

// TestMicroPythonBundleStaleBase: a file the bundle copies from was edited
// on the board: the board takes the per-file path and installs the release
// exactly.
func TestMicroPythonBundleStaleBase(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := newBoard(t, w, nil)
	w.release("1.0", v1, forBoth...)
	b.updated("(none)", "1.0", len(v1))
	w.release("2.0", v2, forBoth...)
	if err := os.WriteFile(filepath.Join(b.dir, "run.sh"), []byte("#!/bin/sh\necho edited on the board\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := b.updated("1.0", "2.0", 4)
	if got := b.files(true); len(diff(got, contents(v2))) != 0 {
		t.Fatalf("after 2.0: differs in %v", diff(got, contents(v2)))
	}
	t.Logf("update with a changed base: %d bytes (the bundle, then the per-file path)", n)
}
