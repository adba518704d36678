package mpyvec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/mpyrun"
)

// asyncRunner runs a Python file with runPythonAsync, so that awaits in it
// return to JavaScript, where this port of MicroPython collects garbage:
// gc.collect() inside a synchronous run frees nothing.
const asyncRunner = `
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";
const [file, pkg, ...args] = process.argv.slice(1); // file first: the package treats a prefix of its own path in argv[1] as "run as a program"
function copyIn(FS, src, dst) {
  try { FS.mkdir(dst); } catch (e) {}
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const s = path.join(src, e.name), d = dst + "/" + e.name;
    if (e.isDirectory()) copyIn(FS, s, d); else if (e.isFile()) FS.writeFile(d, fs.readFileSync(s));
  }
}
const mp = await loadMicroPython({ stdout: (l) => process.stdout.write(l + "\n"), stderr: (l) => process.stderr.write(l + "\n") });
copyIn(mp.FS, pkg, "/pkg");
copyIn(mp.FS, path.dirname(file), "/test");
mp.globals.set("_argv", [file, ...args]);
mp.runPython("import sys\nsys.path.insert(0, '/pkg')\nsys.path.insert(0, '/test')\nsys.argv[:] = list(_argv)\n");
await mp.runPythonAsync(fs.readFileSync(file, "utf8"));
`

// MaxTrustHeap caps the live heap the chain-of-trust check uses above its
// imported modules: the whole update must fit in 64 KB (issue #14),
// downloads and install included, and the modules themselves take space.
const MaxTrustHeap = 20 << 10

// TestHeap measures the peak live heap of checking a 200-file release's
// chain of trust in MicroPython (micropython/tests/heap_trust.py): key list,
// pointer, the manifest's signature streamed from flash, and its entries.
func TestHeap(t *testing.T) {
	t.Parallel()
	r := mpyrun.Need(t)
	dir := t.TempDir()
	r1, s1 := gen(t, "ferry-root-1"), gen(t, "ferry-signing-1")
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, dir, "now.txt", []byte(fmt.Sprint(now.Unix())))
	write(t, dir, "root.pub", []byte("# threshold 1\n"+r1.vkey+"\n"))
	write(t, dir, "keys.note", sign(t, "ferry-signing-keys 2\nexpires 2028-11-30T00:00:00Z\nversion 3\nkey "+s1.vkey+"\n", r1))
	m := sign(t, string(manifestText(t, 200)), s1)
	write(t, dir, "manifest.note", m)
	p := &manifest.Pointer{Channel: "stable", Version: "1.4.0", Sequence: 7, Manifest: sha256.Sum256(m),
		ManifestSize: int64(len(m)), Expires: now.Add(7 * 24 * time.Hour), Rollout: 100}
	pt, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "pointer.note", sign(t, string(pt), s1))
	src, err := os.ReadFile(filepath.Join(r.Root, "micropython", "tests", "heap_trust.py"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "heap_trust.py", src)

	ctx, cancel := context.WithTimeout(context.Background(), mpyrun.DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Node, "--input-type=module", "-e", asyncRunner,
		filepath.Join(dir, "heap_trust.py"), filepath.Join(r.Root, "micropython"), "/test")
	cmd.Dir = r.RunnerDir() // node resolves the MicroPython package from here
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		e := errb.String()
		if len(e) > 2000 { // node prints the minified runner's source line first
			e = e[len(e)-2000:]
		}
		t.Fatalf("heap_trust.py: %v\nstdout:\n%s\nstderr (end):\n%s", err, out.String(), e)
	}
	t.Log(out.String())
	mm := regexp.MustCompile(`peak live heap: \d+ bytes \((\d+) above the imported modules\)`).FindStringSubmatch(out.String())
	if mm == nil {
		t.Fatalf("no peak in the output:\n%s", out.String())
	}
	if peak, _ := strconv.Atoi(mm[1]); peak > MaxTrustHeap {
		t.Errorf("peak live heap above the modules %d bytes, over %d", peak, MaxTrustHeap)
	}
}
