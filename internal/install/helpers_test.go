package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"path"
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

// scan reads everything under root of fsys (but Ferry's own .ferry state
// folder) as path → entry: a file's mode and content, a folder's mode, a
// symlink's destination. A walk error fails the test.
func scan(t testing.TB, fsys vfs.FS, root string) tree {
	t.Helper()
	out := tree{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		es, err := fsys.ReadDir(dir)
		if err != nil {
			t.Fatalf("scan %s: %v", dir, err)
		}
		for _, e := range es {
			p := path.Join(rel, e.Name())
			if p == ".ferry" {
				continue
			}
			full := dir + "/" + e.Name()
			fi, err := fsys.Lstat(full)
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			switch {
			case fi.IsDir():
				out[p] = folder(fi.Mode().Perm())
				walk(full, p)
			case fi.Mode()&fs.ModeSymlink != 0:
				dest, err := fsys.Readlink(full)
				if err != nil {
					t.Fatalf("scan: %v", err)
				}
				out[p] = "symlink -> " + dest
			case fi.Mode().IsRegular():
				data, err := readFile(fsys, full, 1<<30)
				if err != nil {
					t.Fatalf("scan: %v", err)
				}
				out[p] = file(string(data), fi.Mode().Perm())
			default:
				out[p] = fmt.Sprintf("special %v", fi.Mode())
			}
		}
	}
	walk(root, "")
	return out
}

// file and folder render entries as scan does.
func file(content string, mode fs.FileMode) string { return fmt.Sprintf("file %04o %q", mode, content) }
func folder(mode fs.FileMode) string               { return fmt.Sprintf("folder %04o", mode) }

// layoutOf renders release files (modes from mode) and the rendered extra
// entries as scan would see them, with every folder they need (0755).
func layoutOf(files tree, mode func(string) fs.FileMode, extra tree) tree {
	out := tree{}
	for p, c := range files {
		out[p] = file(c, mode(p))
	}
	for p, e := range extra {
		out[p] = e
	}
	for p := range out {
		for _, d := range parents(p) {
			if _, ok := out[d]; !ok {
				out[d] = folder(0o755)
			}
		}
	}
	return out
}

// unmanagedFiles renders files a test wrote itself (mode 0600).
func unmanagedFiles(files tree) tree {
	out := tree{}
	for p, c := range files {
		out[p] = file(c, 0o600)
	}
	return out
}

// checkTarget fails unless the target holds exactly want (files with their
// modes, folders, and nothing else) plus the rendered entries of extra.
func checkTarget(t testing.TB, fsys vfs.FS, root string, want tree, extra tree) {
	t.Helper()
	if diff := diffTrees(layoutOf(want, modeOf, extra), scan(t, fsys, root)); diff != "" {
		t.Fatalf("target differs from the release (-want +got):\n%s", diff)
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
