package mpyrun

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/origin/faultnet"
	"github.com/ferry-ota/ferry/internal/publish"
)

// TestPatchApply runs micropython/tests/patch_apply.py: a board rebuilds a
// file from its old content and a .mpatch from the Go publisher (also after
// a reset mid-download), and refuses a patch for another size, a cut or
// garbled patch, and a base shorter than the patch copies from.
func TestPatchApply(t *testing.T) {
	r := Need(t)
	old := fetchContent()
	cur := bytes.Replace(old, []byte("line 1000:"), []byte("line one thousand, edited:"), 1)
	cur = append(cur, "a new last line\n"...)
	p, err := publish.MakeMPatch(old, cur)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	if _, err := publish.EncodeZlib(&z, bytes.NewReader(cur)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"old": old, "p.mpatch": p, "pdrop.mpatch": p, "cut.mpatch": p[:len(p)/2],
		"garbage.mpatch": []byte("this is not a zlib stream at all")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Mutated command streams (well-formed zlib): each must be refused or
	// make wrong content, never crash the board with another exception.
	zr, err := zlib.NewReader(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(9, 9))
	for i := range 40 {
		m := append([]byte(nil), cmds...)
		for k := 1 + rnd.IntN(3); k > 0; k-- {
			m[rnd.IntN(len(m))] = byte(rnd.IntN(256))
		}
		var zm bytes.Buffer
		if _, err := publish.EncodeZlib(&zm, bytes.NewReader(m)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.mpatch", i)), zm.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, srv := faultnet.NewServer(t, http.FileServer(http.Dir(dir)))
	h.Plan("/pdrop.mpatch", faultnet.Drop(int64(len(p)/2)))
	os1, os2 := sha256.Sum256(old), sha256.Sum256(cur)
	file := filepath.Join(r.Root, "micropython", "tests", "patch_apply.py")
	res := r.Exec(t, 0, file, srv.URL, fmt.Sprint(len(old)), hex.EncodeToString(os1[:]), fmt.Sprint(len(cur)), hex.EncodeToString(os2[:]))
	if res.Code != 0 || !strings.Contains(res.Stdout, "patch_apply ok") {
		t.Fatalf("patch_apply.py: %s", res)
	}
	t.Logf("%s(patch %d bytes, .z blob %d bytes, content %d bytes)", res.Stdout, len(p), z.Len(), len(cur))
}
