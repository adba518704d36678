// Package origintest is the conformance suite every origin.Source passes
// (after restic's internal/backend/test): one set of tests, run against the
// folder origin, the HTTP origin and any origin written later, so that the
// installer can treat them all alike.
//
// A test of an origin calls Run with a constructor that serves the given
// files (origin-relative paths to contents) from a fresh origin:
//
//	func TestConformance(t *testing.T) {
//		origintest.Run(t, func(t *testing.T, files map[string][]byte) origin.Source {
//			dir := t.TempDir()
//			// write files under dir ...
//			return origin.NewDir(dir)
//		})
//	}
//
// The suite asserts behaviour, not implementation: an origin that ignores a
// Range request may answer from offset 0, and one with no version tags may
// return an empty ETag, as origin.Object allows.
package origintest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/google/go-cmp/cmp"
)

// NewSource starts an origin serving files and returns it. It registers its
// clean-up with t.
type NewSource func(t *testing.T, files map[string][]byte) origin.Source

// Files is the content every test of the suite is served.
func Files() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"keys/signing-keys.note":               []byte("signing keys\n"),
		"channels/stable.note":                 []byte("pointer to release 1.2.3\n"),
		"blobs/sha256/ab/abcdef0123456789.zst": big,
		"empty":                                {},
		"dir with space/file+plus.txt":         []byte("odd names are fine"),
	}
}

// Run runs the suite against the origins newSource makes.
func Run(t *testing.T, newSource NewSource) {
	t.Helper()
	for _, tc := range []struct {
		name string
		test func(t *testing.T, src origin.Source, files map[string][]byte)
	}{
		{"Whole", testWhole},
		{"Offset", testOffset},
		{"OffsetAtEnd", testOffsetAtEnd},
		{"MaxSize", testMaxSize},
		{"NotFound", testNotFound},
		{"ETag", testETag},
		{"InvalidRequest", testInvalidRequest},
		{"Cancelled", testCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files := Files()
			tc.test(t, newSource(t, files), files)
		})
	}
}

const limit = 1 << 20

func fetch(t *testing.T, src origin.Source, req origin.Request) (*origin.Object, []byte, error) {
	t.Helper()
	obj, err := src.Fetch(t.Context(), req)
	if err != nil {
		return nil, nil, err
	}
	defer obj.Body.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, obj.Body)
	return obj, buf.Bytes(), err
}

func testWhole(t *testing.T, src origin.Source, files map[string][]byte) {
	for p, want := range files {
		obj, got, err := fetch(t, src, origin.Request{Path: p, MaxSize: limit})
		if err != nil {
			t.Errorf("Fetch(%q): %v", p, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Fetch(%q): got %d bytes, want %d bytes (%q)", p, len(got), len(want), first(got))
		}
		if obj.Offset != 0 || (obj.Size != -1 && obj.Size != int64(len(want))) {
			t.Errorf("Fetch(%q): Offset %d Size %d, want 0 and %d or -1", p, obj.Offset, obj.Size, len(want))
		}
	}
}

func testOffset(t *testing.T, src origin.Source, files map[string][]byte) {
	const p = "blobs/sha256/ab/abcdef0123456789.zst"
	data := files[p]
	for _, off := range []int64{1, 4096, int64(len(data)) - 1} {
		obj, got, err := fetch(t, src, origin.Request{Path: p, Offset: off, MaxSize: limit})
		if err != nil {
			t.Fatalf("Fetch(%q, offset %d): %v", p, off, err)
		}
		if obj.Offset != off && obj.Offset != 0 {
			t.Fatalf("Fetch(%q, offset %d): Object.Offset %d, want %d or 0", p, off, obj.Offset, off)
		}
		if want := data[obj.Offset:]; !bytes.Equal(got, want) {
			t.Errorf("Fetch(%q, offset %d): got %d bytes, want %d from offset %d", p, off, len(got), len(want), obj.Offset)
		}
	}
}

func testOffsetAtEnd(t *testing.T, src origin.Source, files map[string][]byte) {
	const p = "keys/signing-keys.note"
	n := int64(len(files[p]))
	obj, got, err := fetch(t, src, origin.Request{Path: p, Offset: n, MaxSize: limit})
	if err != nil {
		t.Fatalf("Fetch(%q, offset %d = size): %v", p, n, err)
	}
	if want := files[p][obj.Offset:]; !bytes.Equal(got, want) {
		t.Errorf("Fetch(%q, offset %d = size): got %q, want %q", p, n, got, want)
	}
	_, _, err = fetch(t, src, origin.Request{Path: p, Offset: n + 1, MaxSize: limit})
	if !errors.Is(err, origin.ErrRange) {
		t.Errorf("Fetch(%q, offset %d > size): %v, want ErrRange", p, n+1, err)
	}
}

func testMaxSize(t *testing.T, src origin.Source, files map[string][]byte) {
	for _, p := range []string{"keys/signing-keys.note", "blobs/sha256/ab/abcdef0123456789.zst"} {
		n := int64(len(files[p]))
		if _, got, err := fetch(t, src, origin.Request{Path: p, MaxSize: n}); err != nil || int64(len(got)) != n {
			t.Errorf("Fetch(%q, MaxSize = size %d): %d bytes, %v; want all, no error", p, n, len(got), err)
		}
		_, got, err := fetch(t, src, origin.Request{Path: p, MaxSize: n - 1})
		if !errors.Is(err, origin.ErrTooLarge) {
			t.Errorf("Fetch(%q, MaxSize = size-1): %v, want ErrTooLarge", p, err)
		}
		if int64(len(got)) > n-1 {
			t.Errorf("Fetch(%q, MaxSize = size-1): read %d bytes, more than the cap", p, len(got))
		}
	}
}

func testNotFound(t *testing.T, src origin.Source, _ map[string][]byte) {
	for _, p := range []string{"missing", "blobs/sha256/ff/missing.zst", "nodir/x"} {
		if _, _, err := fetch(t, src, origin.Request{Path: p, MaxSize: limit}); !errors.Is(err, origin.ErrNotFound) {
			t.Errorf("Fetch(%q): %v, want ErrNotFound", p, err)
		}
	}
}

func testETag(t *testing.T, src origin.Source, files map[string][]byte) {
	const p = "channels/stable.note"
	obj, _, err := fetch(t, src, origin.Request{Path: p, MaxSize: limit})
	if err != nil {
		t.Fatalf("Fetch(%q): %v", p, err)
	}
	other, got, err := fetch(t, src, origin.Request{Path: p, MaxSize: limit, ETag: `"not-the-tag"`})
	if err != nil || !bytes.Equal(got, files[p]) {
		t.Fatalf("Fetch(%q, stale ETag): %q, %v; want the file", p, got, err)
	}
	if diff := cmp.Diff(obj.ETag, other.ETag); diff != "" {
		t.Errorf("Fetch(%q): ETag differs between two fetches of the same file (-first +second):\n%s", p, diff)
	}
	if obj.ETag == "" {
		t.Logf("origin has no ETags: conditional fetch not checked")
		return
	}
	if _, _, err := fetch(t, src, origin.Request{Path: p, MaxSize: limit, ETag: obj.ETag}); !errors.Is(err, origin.ErrNotModified) {
		t.Errorf("Fetch(%q, ETag %s): %v, want ErrNotModified", p, obj.ETag, err)
	}
}

func testInvalidRequest(t *testing.T, src origin.Source, _ map[string][]byte) {
	for _, tc := range []struct {
		req  origin.Request
		want error
	}{
		{origin.Request{Path: "../secret", MaxSize: limit}, origin.ErrInvalidPath},
		{origin.Request{Path: "keys/../../secret", MaxSize: limit}, origin.ErrInvalidPath},
		{origin.Request{Path: "/etc/passwd", MaxSize: limit}, origin.ErrInvalidPath},
		{origin.Request{Path: "", MaxSize: limit}, origin.ErrInvalidPath},
		{origin.Request{Path: "keys/./signing-keys.note", MaxSize: limit}, origin.ErrInvalidPath},
		{origin.Request{Path: `keys\signing-keys.note`, MaxSize: limit}, origin.ErrInvalidPath},
		{origin.Request{Path: "empty", MaxSize: 0}, origin.ErrInvalidRequest},
		{origin.Request{Path: "empty", MaxSize: limit, Offset: -1}, origin.ErrInvalidRequest},
	} {
		obj, _, err := fetch(t, src, tc.req)
		if !errors.Is(err, tc.want) || obj != nil {
			t.Errorf("Fetch(%+v): %v, want %v", tc.req, err, tc.want)
		}
	}
}

func testCancelled(t *testing.T, src origin.Source, _ map[string][]byte) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	const p = "keys/signing-keys.note"
	obj, err := src.Fetch(ctx, origin.Request{Path: p, MaxSize: limit})
	if err == nil {
		defer obj.Body.Close()
		_, err = io.Copy(io.Discard, obj.Body)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch(%q) with a cancelled context: %v, want context.Canceled", p, err)
	}
}

func first(b []byte) []byte {
	return b[:min(len(b), 32)]
}

// WriteFiles writes files under dir, creating folders as needed: a helper
// for origins that serve a folder.
func WriteFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
