package mpyrun

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/klauspost/compress/flate"
)

// nearWindow is random data where 64-byte pieces repeat at distances around
// the window (2040 to 2100 bytes back), which an encoder with a window even
// one byte too wide would use.
func nearWindow() []byte {
	r := rand.New(rand.NewPCG(21, 21))
	b := make([]byte, 0, 100_000)
	for len(b) < 90_000 {
		chunk := make([]byte, 3000)
		for i := range chunk {
			chunk[i] = byte(r.Uint32())
		}
		b = append(b, chunk...)
		for _, d := range []int{2040, 2047, 2048, 2049, 2050, 2100, 3000} {
			if d <= len(b) {
				b = append(b, b[len(b)-d:len(b)-d+64]...)
			}
		}
		b = append(b, b[len(b)-3000:]...) // 3000 bytes again, 3000 back
	}
	return b
}

// inflate runs inflate_file.py on z and returns its output line.
func inflate(t *testing.T, r *Runner, z []byte) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "blob.z")
	if err := os.WriteFile(p, z, 0o644); err != nil {
		t.Fatal(err)
	}
	// The file goes in through the test folder, which exec.mjs copies in.
	py, err := os.ReadFile(filepath.Join(r.Root, "micropython", "tests", "inflate_file.py"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inflate_file.py"), py, 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.Exec(t, 0, filepath.Join(dir, "inflate_file.py"), "/test/blob.z")
	if res.Code != 0 {
		t.Fatalf("inflate_file.py: %s", res)
	}
	return strings.TrimSpace(res.Stdout)
}

// TestZlibWindow: the publisher's .z blobs decode in MicroPython with the
// board's window (2^layout.ZlibWindowBits) even when the content repeats
// just beyond it; a stream made with a wider window but the same header
// does not (so the check would catch a publisher that overreaches).
func TestZlibWindow(t *testing.T) {
	r := Need(t)
	data := nearWindow()
	sum := sha256.Sum256(data)
	want := fmt.Sprintf("%d %s", len(data), hex.EncodeToString(sum[:]))
	var z bytes.Buffer
	if _, err := publish.EncodeZlib(&z, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got := inflate(t, r, z.Bytes()); got != want {
		t.Errorf("the publisher's blob decodes to %q, want %q", got, want)
	}

	// The same header over deflate data with a 4 KiB window.
	var wide bytes.Buffer
	wide.Write(z.Bytes()[:2])
	fw, err := flate.NewWriterWindow(&wide, 2<<layout.ZlibWindowBits)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	fw.Close()
	wide.Write(z.Bytes()[z.Len()-4:]) // the same Adler-32
	t.Logf("%d bytes: %d as the publisher's blob, %d with a %d-byte window", len(data), z.Len(), wide.Len(), 2<<layout.ZlibWindowBits)
	if got := inflate(t, r, wide.Bytes()); got == want {
		t.Errorf("a blob with a %d-byte window decoded with the board's %d-byte one: the check cannot catch an overreaching publisher", 2<<layout.ZlibWindowBits, 1<<layout.ZlibWindowBits)
	} else {
		t.Logf("a %d-byte window blob in MicroPython: %s", 2<<layout.ZlibWindowBits, got)
	}
}
