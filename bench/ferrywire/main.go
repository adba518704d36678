// Command ferrywire computes the bytes a Ferry device downloads to go from
// one tree to another, mirroring what the publisher and the agent do:
//
//   - the signed channel pointer;
//   - the new signed manifest, or a patch from the old manifest note to the
//     new one (internal/delta), whichever is smaller;
//   - for each file whose content changed or is new: a patch from the old
//     content (same path, or the same content anywhere in the old tree) or
//     the zstd blob, whichever is smaller, as `ferry release` keeps a delta
//     only where it is smaller than the blob.
//
// Unchanged files and deleted files cost nothing. HTTP framing is not
// counted (nor is it for the peers, except rsync's own protocol). Every
// patch is applied and checked, so a broken patch cannot flatter the count.
//
// Usage:
//
//	ferrywire [-v] [-related] [-zstd-cli] OLD_DIR NEW_DIR
//
// It prints "name bytes" lines: pointer, manifest, patches, blobs, total.
package main

import (
	"crypto/sha256"
	"flag"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/klauspost/compress/zstd"
)

// tree is one release: its files by path, and their contents by hash.
type tree struct {
	files  []manifest.File
	data   map[string][]byte
	byHash map[manifest.Digest]string
}

func main() {
	verbose := flag.Bool("v", false, "print the cost of every changed file")
	related := flag.Bool("related", false, "patch new paths from a related old file (a proposal, see relatedBase)")
	cli := flag.Bool("zstd-cli", false, "also try the reference zstd -19 (the zstd command) as patch encoder")
	flag.Parse()
	if *cli {
		compressor = zstdCLI
	}
	if flag.NArg() != 2 {
		log.Fatal("usage: ferrywire [-v] [-related] [-zstd-cli] OLD_DIR NEW_DIR")
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(8<<20), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	if err != nil {
		log.Fatal(err)
	}
	oldT, err := readTree(flag.Arg(0), enc)
	if err != nil {
		log.Fatal(err)
	}
	newT, err := readTree(flag.Arg(1), enc)
	if err != nil {
		log.Fatal(err)
	}
	if err := report(oldT, newT, *verbose, *related); err != nil {
		log.Fatal(err)
	}
}

// readTree reads every regular file under dir, with its blob size.
func readTree(dir string, enc *zstd.Encoder) (*tree, error) {
	t := &tree{data: map[string][]byte{}, byHash: map[manifest.Digest]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f := manifest.File{Path: rel, Mode: 0o644, Size: int64(len(b)), SHA256: sha256.Sum256(b),
			ZSize: int64(len(enc.EncodeAll(b, nil)))}
		if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
			f.Mode = 0o755
		}
		t.files = append(t.files, f)
		t.data[rel] = b
		t.byHash[f.SHA256] = rel
		return nil
	})
	return t, err
}

// signedManifest returns the signed manifest note of t.
func signedManifest(t *tree, version string, seq uint64, skey string) ([]byte, error) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Hour)
	m := &manifest.Manifest{Channel: "stable", Version: version, Sequence: seq,
		Created: now, Expires: now.AddDate(0, 3, 0), Files: t.files}
	text, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return trust.Sign(text, skey)
}

// signedPointer returns the signed pointer to a manifest note.
func signedPointer(note []byte, skey string) ([]byte, error) {
	p := &manifest.Pointer{Channel: "stable", Version: "new", Sequence: 2, Manifest: sha256.Sum256(note),
		ManifestSize: int64(len(note)), Expires: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Rollout: 100}
	text, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	return trust.Sign(text, skey)
}
