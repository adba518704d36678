package mpyrun

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/klauspost/compress/flate"
)

// fetchContent is compressible text, random runs, and a random block
// repeated 3000 bytes apart (beyond the 2 KiB window).
func fetchContent() []byte {
	r := rand.New(rand.NewPCG(7, 7))
	var b bytes.Buffer
	far := make([]byte, 3000)
	for i := range far {
		far[i] = byte(r.Uint32())
	}
	for i := 0; b.Len() < 150_000; i++ {
		fmt.Fprintf(&b, "line %d: ferry over the air %d\n", i, i%17)
		if i%200 == 0 {
			b.Write(far)
		}
	}
	return b.Bytes()
}

// wideZlib is a zlib stream with a 32 KiB window: what a board must refuse.
func wideZlib(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x78, 0x9c})
	w, err := flate.NewWriter(&b, 9)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	b.Write([]byte{0, 0, 0, 0}) // no Adler-32 check reached: the content differs first
	return b.Bytes()
}

// TestFetchFaults runs micropython/tests/fetch_faults.py: ferry/fetch.py
// in MicroPython against a faultnet origin: small documents (304, 404, a
// cap, a 503 retried), to_file and blob resumed with Range after resets,
// with an origin that then ignores Range, after a stall and a cut body;
// corruption, an endless body and a blob with too wide a window refused.
func TestFetchFaults(t *testing.T) {
	r := Need(t)
	data := fetchContent()
	var z bytes.Buffer
	if _, err := publish.EncodeZlib(&z, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Files an hour old: a Last-Modified within the second of the answer's
	// Date is no validator (http.Response.validator), and "small 304" needs
	// one.
	old := time.Now().Add(-time.Hour)
	put := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"plain", "drop", "dropignore", "stall", "truncate", "flip", "endless"} {
		put(n, data)
		put(n+".z", z.Bytes())
	}
	put("flipdeep.z", z.Bytes())
	put("wide.z", wideZlib(t, data))
	put("small", []byte("ferry-channel 1\n"))
	put("small503", []byte("ferry-channel 1\n"))

	h, srv := faultnet.NewServer(t, http.FileServer(http.Dir(dir)))
	h.Plan("/drop", faultnet.Drop(40_000), faultnet.Drop(90_000))
	h.Plan("/drop.z", faultnet.Drop(30_000), faultnet.Drop(20_000))
	for _, p := range []string{"/dropignore", "/dropignore.z"} {
		h.Plan(p, faultnet.Drop(30_000), faultnet.IgnoreRange())
	}
	h.Plan("/stall", faultnet.Stall(50_000))
	h.Plan("/truncate", faultnet.Truncate(70_000))
	h.Plan("/flip", faultnet.Flip(12_345))
	h.Plan("/flip.z", faultnet.Flip(10))
	h.Plan("/flipdeep.z", faultnet.Flip(int64(z.Len()/2)))
	h.Plan("/endless", faultnet.Endless())
	h.Plan("/endless.z", faultnet.Endless())
	h.Plan("/small503", faultnet.Status(503, "1"))

	sum := sha256.Sum256(data)
	file := filepath.Join(r.Root, "micropython", "tests", "fetch_faults.py")
	start := time.Now()
	res := r.Exec(t, 0, file, srv.URL, fmt.Sprint(len(data)), hex.EncodeToString(sum[:]))
	if res.Code != 0 || !strings.Contains(res.Stdout, "fetch_faults ok") {
		t.Fatalf("fetch_faults.py: %s", res)
	}
	t.Logf("%s(%v; content %d bytes, zlib blob %d bytes)", res.Stdout, time.Since(start).Round(time.Millisecond), len(data), z.Len())

	// Resumed transfers asked for the rest, not the whole again. The log is
	// in the order the handlers returned: a stalled answer's handler may
	// return after the resumption's, so the stall is checked as a set.
	h.Close()
	ranges := map[string][]string{}
	for _, e := range h.Log() {
		ranges[e.Path] = append(ranges[e.Path], e.Range)
	}
	for p, want := range map[string]string{"/drop": `"" "bytes=40000-" "bytes=130000-"`, "/drop.z": `"" "bytes=30000-" "bytes=50000-"`} {
		if got := fmt.Sprintf("%q", ranges[p]); got != "["+want+"]" {
			t.Errorf("%s: Range headers %s, want [%s]", p, got, want)
		}
	}
	if got := ranges["/stall"]; len(got) != 2 || !slices.Contains(got, "") || !slices.Contains(got, "bytes=50000-") {
		t.Errorf("/stall: Range headers %q, want one whole and one from 50000", got)
	}
}
