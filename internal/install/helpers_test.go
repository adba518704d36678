package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// tree is a release's files: path → content, with mode 0755 for paths
// ending in ".sh" and 0644 otherwise.
type tree map[string]string

func modeOfChmod(p string) fs.FileMode {
	if p == execTxt {
		return 0o755
	}
	return modeOf(p)
}

func modeOf(p string) fs.FileMode {
	if strings.HasSuffix(p, ".sh") {
		return 0o755
	}
	return 0o644
}

// execTxt names files that are executable although not named *.sh: the
// chmod-only change of the crash scenarios.
const execTxt = "same.txt"

// release builds a Release of t; its Document is the manifest text. With
// chmod, same.txt is published executable (0755).
func release(t testing.TB, version string, seq uint64, files tree, chmod ...bool) Release {
	t.Helper()
	modeOf := modeOf
	if len(chmod) > 0 && chmod[0] {
		modeOf = modeOfChmod
	}
	m := &manifest.Manifest{Channel: "stable", Version: version, Sequence: seq,
		Created: time.Unix(1e9, 0), Expires: time.Unix(2e9, 0)}
	for p, c := range files {
		m.Files = append(m.Files, manifest.File{Path: p, Mode: modeOf(p), Size: int64(len(c)), SHA256: sha256.Sum256([]byte(c))})
	}
	doc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return Release{Manifest: m, Document: doc, Digest: sha256.Sum256(doc)}
}

func decodeText(doc []byte) (*manifest.Manifest, error) {
	return manifest.ParseManifest(doc, manifest.Limits{})
}

// memFetcher serves contents by hash. corrupt makes it serve wrong bytes
// for the named paths; fail makes it fail after writing half.
type memFetcher struct {
	blobs   map[manifest.Digest][]byte
	corrupt map[string]bool
	fail    map[string]bool
	fetched []string
}

func newFetcher(trees ...tree) *memFetcher {
	f := &memFetcher{blobs: map[manifest.Digest][]byte{}, corrupt: map[string]bool{}, fail: map[string]bool{}}
	for _, t := range trees {
		for _, c := range t {
			f.blobs[sha256.Sum256([]byte(c))] = []byte(c)
		}
	}
	return f
}

func (m *memFetcher) Fetch(ctx context.Context, f manifest.File, old *Old, out Sink) error {
	m.fetched = append(m.fetched, f.Path)
	data, ok := m.blobs[f.SHA256]
	if !ok {
		return fmt.Errorf("no blob %s", f.SHA256)
	}
	w, err := out()
	if err != nil {
		return err
	}
	if m.corrupt[f.Path] {
		data = bytes.ToUpper(append([]byte("x"), data[1:]...))
	}
	if m.fail[f.Path] {
		w.Write(data[:len(data)/2])
		return io.ErrUnexpectedEOF
	}
	_, err = w.Write(data)
	return err
}

// snapshot reads every regular file under root of fsys: path → content, and
// modes into the second map.
func snapshot(t testing.TB, fsys vfs.FS, root string) (tree, map[string]fs.FileMode) {
	t.Helper()
	files, modes := tree{}, map[string]fs.FileMode{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		es, err := fsys.ReadDir(dir)
		if err != nil {
			t.Fatalf("snapshot %s: %v", dir, err)
		}
		for _, e := range es {
			p := e.Name()
			if rel != "" {
				p = rel + "/" + e.Name()
			}
			full := dir + "/" + e.Name()
			if e.IsDir() {
				walk(full, p)
				continue
			}
			if e.Type()&fs.ModeSymlink != 0 {
				files[p] = "symlink"
				continue
			}
			data, err := readFile(fsys, full, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := fsys.Stat(full)
			if err != nil {
				t.Fatal(err)
			}
			files[p], modes[p] = string(data), fi.Mode().Perm()
		}
	}
	walk(root, "")
	return files, modes
}

// checkTarget fails unless the target holds exactly want (with modes) plus
// the unmanaged files in extra.
func checkTarget(t testing.TB, fsys vfs.FS, root string, want tree, extra tree) {
	t.Helper()
	got, modes := snapshot(t, fsys, root)
	all := tree{}
	for p, c := range want {
		all[p] = c
	}
	for p, c := range extra {
		all[p] = c
	}
	if diff := diffTrees(all, got); diff != "" {
		t.Fatalf("target differs from the release (-want +got):\n%s", diff)
	}
	for p := range want {
		if modes[p] != modeOf(p) {
			t.Fatalf("%s: mode %v, want %v", p, modes[p], modeOf(p))
		}
	}
}

func diffTrees(want, got tree) string {
	var keys []string
	seen := map[string]bool{}
	for k := range want {
		keys, seen[k] = append(keys, k), true
	}
	for k := range got {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !gok:
			fmt.Fprintf(&b, "- %s: %q\n", k, w)
		case !wok:
			fmt.Fprintf(&b, "+ %s: %q\n", k, g)
		case w != g:
			fmt.Fprintf(&b, "~ %s: %q != %q\n", k, w, g)
		}
	}
	return b.String()
}
