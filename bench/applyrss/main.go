// Command applyrss measures the device side of a delta on a large file: it
// makes an old file and a patch, then applies the patch the way the agent
// does (old file read by position, new file streamed through SHA-256 to
// disk), so that the apply step can be run under /usr/bin/time -v.
//
// Usage:
//
//	applyrss -make -size 1073741824 DIR   writes DIR/old, DIR/patch, DIR/new.sha256
//	applyrss -make -from OLD -to NEW DIR  the same for two real files
//	applyrss -make -nosplit ...           without FlagSplit patches (delta.Options.NoSplit)
//	applyrss DIR                          applies DIR/patch to DIR/old into DIR/new
//
// The new file is the old one with edits a release makes: bytes changed
// here and there, blocks inserted, one block deleted and one moved.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/delta"
	"github.com/ferry-ota/ferry/internal/delta/deltagen"
)

// opts are the options of Diff with -make.
var opts deltagen.Options

func main() {
	mk := flag.Bool("make", false, "make the old file and the patch instead of applying")
	size := flag.Int("size", 1<<30, "size of the old file, with -make")
	from := flag.String("from", "", "with -make: the old file to use instead of a made-up one")
	to := flag.String("to", "", "with -make -from: the new file")
	noSplit := flag.Bool("nosplit", false, "with -make: no FlagSplit patch, as for agents older than it")
	flag.Parse()
	opts.NoSplit = *noSplit
	if flag.NArg() != 1 {
		log.Fatal("usage: applyrss [-make [-size N]] DIR")
	}
	var err error
	switch {
	case *mk && *from != "":
		err = makeFrom(flag.Arg(0), *from, *to)
	case *mk:
		err = makeFiles(flag.Arg(0), *size)
	default:
		err = apply(flag.Arg(0))
	}
	if err != nil {
		log.Fatal(err)
	}
}

// makeFiles writes dir/old, dir/patch and dir/new.sha256.
func makeFiles(dir string, size int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	old := make([]byte, size)
	for i := 0; i+8 <= len(old); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			old[i+j] = byte(v >> (8 * j))
		}
	}
	return writeFiles(dir, old, edit(rng, old))
}

// makeFrom writes dir/old, dir/patch and dir/new.sha256 for two real files.
func makeFrom(dir, from, to string) error {
	old, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	new, err := os.ReadFile(to)
	if err != nil {
		return err
	}
	return writeFiles(dir, old, new)
}

// writeFiles diffs old to new and writes dir/old, dir/patch, dir/new.sha256.
func writeFiles(dir string, old, new []byte) error {
	start := time.Now()
	var patch bytes.Buffer
	if err := deltagen.Diff(old, new, &patch, opts); err != nil {
		return err
	}
	log.Printf("diff of %d -> %d bytes: patch of %d bytes (flags %#x) in %v", len(old), len(new), patch.Len(), patch.Bytes()[len(delta.Magic)+1], time.Since(start))
	sum := sha256.Sum256(new)
	for name, b := range map[string][]byte{"old": old, "patch": patch.Bytes(), "new.sha256": []byte(hex.EncodeToString(sum[:]))} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// edit returns old with 1,000 changed bytes, 20 inserted 4 KiB blocks, a
// deleted 1 MiB block and a 1 MiB block moved to the end.
func edit(rng *rand.Rand, old []byte) []byte {
	n := len(old)
	mb := min(1<<20, n/8)
	cut, mv := rng.IntN(n/2), n/2+rng.IntN(n/2-mb)
	new := make([]byte, 0, n+20*4096)
	new = append(new, old[:cut]...)
	new = append(new, old[cut+mb:mv]...)
	new = append(new, old[mv+mb:]...)
	new = append(new, old[mv:mv+mb]...)
	for range 1000 {
		new[rng.IntN(len(new))]++
	}
	for range 20 {
		at := rng.IntN(len(new))
		ins := make([]byte, 4096)
		for i := range ins {
			ins[i] = byte(rng.Uint32())
		}
		new = append(new[:at], append(ins, new[at:]...)...)
	}
	return new
}

// apply applies dir/patch to dir/old into dir/new and checks its SHA-256.
func apply(dir string) error {
	old, err := os.Open(filepath.Join(dir, "old"))
	if err != nil {
		return err
	}
	defer old.Close()
	info, err := old.Stat()
	if err != nil {
		return err
	}
	patch, err := os.Open(filepath.Join(dir, "patch"))
	if err != nil {
		return err
	}
	defer patch.Close()
	out, err := os.Create(filepath.Join(dir, "new"))
	if err != nil {
		return err
	}
	defer out.Close()
	h := sha256.New()
	w := bufio.NewWriterSize(out, 64<<10)
	start := time.Now()
	n, err := delta.Apply(context.Background(), old, info.Size(), patch, io.MultiWriter(w, h), 2<<30)
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	want, err := os.ReadFile(filepath.Join(dir, "new.sha256"))
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != string(want) {
		return fmt.Errorf("new file has SHA-256 %s, want %s", got, want)
	}
	log.Printf("applied: %d bytes in %v, SHA-256 checked", n, time.Since(start))
	return nil
}
