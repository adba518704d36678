package origin_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/origintest"
)

func TestDirConformance(t *testing.T) {
	t.Parallel()
	origintest.Run(t, func(t *testing.T, files map[string][]byte) origin.Source {
		dir := t.TempDir()
		origintest.WriteFiles(t, dir, files)
		return origin.NewDir(dir)
	})
}

func TestDirRefusesEscapes(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	origintest.WriteFiles(t, outside, map[string][]byte{"secret": []byte("private key")})
	root := t.TempDir()
	origintest.WriteFiles(t, root, map[string][]byte{"real/file": []byte("ok")})
	for name, target := range map[string]string{
		"abs-link":  filepath.Join(outside, "secret"),
		"rel-link":  "../" + filepath.Base(outside) + "/secret",
		"dir-link":  outside,
		"ok-link":   "real/file",
		"real-link": "real",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	src := origin.NewDir(root)
	for _, tc := range []struct {
		path string
		want error // nil: readable
	}{
		{"abs-link", origin.ErrInvalidPath},
		{"rel-link", origin.ErrInvalidPath},
		{"dir-link/secret", origin.ErrInvalidPath},
		{"ok-link", nil},
		{"real-link/file", nil},
		{"real", origin.ErrNotFound}, // a folder is not a file
	} {
		obj, err := src.Fetch(t.Context(), origin.Request{Path: tc.path, MaxSize: 100})
		if !errors.Is(err, tc.want) {
			t.Errorf("Fetch(%q): %v, want %v", tc.path, err, tc.want)
		}
		if err == nil {
			got, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil || string(got) != "ok" {
				t.Errorf("Fetch(%q): read %q, %v; want \"ok\"", tc.path, got, err)
			}
		}
	}
}

func TestDirETagChangesWithFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	origintest.WriteFiles(t, root, map[string][]byte{"f": []byte("one")})
	src := origin.NewDir(root)
	req := origin.Request{Path: "f", MaxSize: 100}
	obj, err := src.Fetch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	// Same size, new content and time: the ETag must change.
	later := time.Now().Add(time.Hour)
	origintest.WriteFiles(t, root, map[string][]byte{"f": []byte("two")})
	if err := os.Chtimes(filepath.Join(root, "f"), later, later); err != nil {
		t.Fatal(err)
	}
	req.ETag = obj.ETag
	obj2, err := src.Fetch(t.Context(), req)
	if err != nil {
		t.Fatalf("Fetch after rewrite with the old ETag %s: %v, want the new file", obj.ETag, err)
	}
	obj2.Body.Close()
	if obj2.ETag == obj.ETag {
		t.Errorf("ETag %s unchanged after the file was rewritten", obj.ETag)
	}
}

func TestDirBodyStopsAtMaxSizeWhenFileGrows(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	origintest.WriteFiles(t, root, map[string][]byte{"f": []byte("12345")})
	obj, err := origin.NewDir(root).Fetch(t.Context(), origin.Request{Path: "f", MaxSize: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	// The file grows past the cap after it was opened.
	f, err := os.OpenFile(filepath.Join(root, "f"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("67890"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := io.ReadAll(obj.Body)
	if len(got) > 6 || (err != nil && !errors.Is(err, origin.ErrTooLarge)) {
		t.Errorf("read %q, %v: want at most 6 bytes", got, err)
	}
}
