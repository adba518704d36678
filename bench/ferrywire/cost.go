package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/manifest"

	"github.com/ferry-ota/ferry/internal/delta"
	"github.com/ferry-ota/ferry/internal/delta/deltagen"
	"golang.org/x/mod/sumdb/note"
)

// report prints what the device downloads to go from oldT to newT.
// compressor is delta.Options.Compress: nil, or the reference zstd CLI.
var compressor delta.Compressor

// zstdCLI compresses body with the reference zstd at level 19, its window
// capped at delta.MaxWindow (wlog 23), with dict as --patch-from.
func zstdCLI(body, dict []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "ferrywire")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{"-q", "-19", "--no-check", "--zstd=wlog=23", "-c"}
	if dict != nil {
		if err := os.WriteFile(filepath.Join(dir, "dict"), dict, 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--patch-from="+filepath.Join(dir, "dict"))
	}
	if err := os.WriteFile(filepath.Join(dir, "body"), body, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("zstd", append(args, filepath.Join(dir, "body"))...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	return out.Bytes(), nil
}

func report(oldT, newT *tree, verbose, related bool) error {
	meta, err := metadata(oldT, newT)
	if err != nil {
		return err
	}
	var c counts
	for _, f := range newT.files {
		if err := c.add(oldT, newT, f, verbose, related); err != nil {
			return err
		}
	}
	fmt.Printf("unchanged %d files\npatches %d (%d files)\nblobs %d (%d files)\n", c.nSame, c.bPatch, c.nPatch, c.bBlob, c.nBlob)
	fmt.Printf("total %d\n", meta+c.bPatch+c.bBlob)
	return nil
}

// metadata prints and returns the bytes of the signed pointer and of the
// manifest patch or note, whichever is smaller.
func metadata(oldT, newT *tree) (int, error) {
	// A fixed key, so that the signatures, and so the manifest patch, are
	// the same from run to run.
	skey, _, err := note.GenerateKey(bytes.NewReader(make([]byte, 32)), "bench-signing")
	if err != nil {
		return 0, err
	}
	oldNote, err := signedManifest(oldT, "old", 1, skey)
	if err != nil {
		return 0, err
	}
	newNote, err := signedManifest(newT, "new", 2, skey)
	if err != nil {
		return 0, err
	}
	ptr, err := signedPointer(newNote, skey)
	if err != nil {
		return 0, err
	}
	mp, err := patch(oldNote, newNote)
	if err != nil {
		return 0, fmt.Errorf("manifest: %w", err)
	}
	man := min(len(mp), len(newNote))
	fmt.Printf("pointer %d\nmanifest %d (note %d, patch %d)\n", len(ptr), man, len(newNote), len(mp))
	return len(ptr) + man, nil
}

// counts adds up the files of an update.
type counts struct {
	nPatch, bPatch, nBlob, bBlob, nSame int
}

// add counts file f of the new tree: nothing if unchanged, else the smaller
// of its blob and its patch from the old content the device can name.
func (c *counts) add(oldT, newT *tree, f manifest.File, verbose, related bool) error {
	base, ok := oldT.data[f.Path]
	if ok && sha256.Sum256(base) == f.SHA256 {
		c.nSame++
		return nil
	}
	if p, same := oldT.byHash[f.SHA256]; same {
		base, ok = oldT.data[p], true
	}
	if !ok && related {
		if p, found := relatedBase(f.Path, oldT.files); found {
			base, ok = oldT.data[p], true
		}
	}
	cost, kind := int(f.ZSize), "blob"
	if ok {
		p, err := patch(base, newT.data[f.Path])
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		if len(p) < cost {
			cost, kind = len(p), "patch"
		}
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "%-5s %9d  %9d -> %9d  %s\n", kind, cost, len(base), f.Size, f.Path)
	}
	if kind == "patch" {
		c.nPatch, c.bPatch = c.nPatch+1, c.bPatch+cost
	} else {
		c.nBlob, c.bBlob = c.nBlob+1, c.bBlob+cost
	}
	return nil
}

// patch returns the patch from old to new, after checking that it applies.
func patch(old, new []byte) ([]byte, error) {
	var p, out bytes.Buffer
	if err := deltagen.Diff(old, new, &p, deltagen.Options{Compress: compressor}); err != nil {
		return nil, err
	}
	_, err := delta.Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(p.Bytes()), &out, int64(len(new)))
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(out.Bytes(), new) {
		return nil, fmt.Errorf("patch does not reproduce the new content")
	}
	return p.Bytes(), nil
}

// relatedBase returns, for a path the old tree does not have, the old file
// a device could use as a patch base by a rule it can apply from its old
// manifest alone: among old files with the same extension, the one whose
// path shares the longest prefix with p, the larger on a tie.
func relatedBase(p string, old []manifest.File) (string, bool) {
	best, bestLen, bestSize := "", -1, int64(-1)
	for _, f := range old {
		if path.Ext(f.Path) != path.Ext(p) || f.Size == 0 || f.Size > delta.MaxDict {
			continue
		}
		n := 0
		for n < len(p) && n < len(f.Path) && p[n] == f.Path[n] {
			n++
		}
		if n > bestLen || n == bestLen && f.Size > bestSize {
			best, bestLen, bestSize = f.Path, n, f.Size
		}
	}
	return best, bestLen >= 0
}
