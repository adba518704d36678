package github

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/origin"
)

func TestAssetName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"channels/stable.note", "channels_stable.note", true},
		{layout.SigningKeys, "keys_signing-keys.note", true},
		{"releases/1.4.0/manifest.note", "releases_1.4.0_manifest.note", true},
		{"blobs/sha256/ab/ab12.zst", "blobs_sha256_ab_ab12.zst", true},
		{"dir with space/file+plus.txt", "dir-20with-20space_file-2Bplus.txt", true},
		{".hidden", "-2Ehidden", true},
		{"trailing.", "trailing-2E", true},
		{"ünï", "-C3-BCn-C3-AF", true},
		{"", "", false},
		{"a//b", "", false},
		{"../a", "", false},
		{"a/./b", "", false},
		{"a/", "", false},
	}
	for _, tt := range tests {
		got, err := AssetName(tt.path)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrAssetName)) {
			t.Errorf("AssetName(%q) = %q, %v; want %q, ok %v", tt.path, got, err, tt.want, tt.ok)
		}
		for _, r := range got {
			if !assetRune(r) {
				t.Errorf("AssetName(%q) = %q holds %q, which GitHub renames", tt.path, got, r)
			}
		}
	}
}

// stableServer is a fake GitHub whose latest release v1 holds files as
// Ferry's assets.
func stableServer(t *testing.T, files map[string]string) (origin.Source, *fakegh.Server) {
	t.Helper()
	srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	for p, data := range files {
		name, err := AssetName(p)
		if err != nil {
			t.Fatal(err)
		}
		srv.PutAsset("v1", name, []byte(data))
	}
	c, _, _ := clientFor(t, srv, nil)
	return NewReleaseSource(c), srv
}

func read(t *testing.T, obj *origin.Object) string {
	t.Helper()
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestReleaseSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	files := map[string]string{layout.SigningKeys: "keys\n", "channels/stable.note": "pointer v1\n", "blobs/sha256/ab/abcd.zst": "0123456789"}
	src, srv := stableServer(t, files)
	obj, err := src.Fetch(ctx, origin.Request{Path: "channels/stable.note", MaxSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, obj); got != files["channels/stable.note"] || obj.Size != int64(len(got)) || obj.ETag == "" {
		t.Errorf("pointer = %q, size %d, etag %q", got, obj.Size, obj.ETag)
	}
	tests := []struct {
		name string
		req  origin.Request
		want error
		body string
	}{
		{"not modified", origin.Request{Path: "channels/stable.note", MaxSize: 1 << 10, ETag: obj.ETag}, origin.ErrNotModified, ""},
		{"missing", origin.Request{Path: "releases/9/manifest.note", MaxSize: 1 << 10}, origin.ErrNotFound, ""},
		{"bad path", origin.Request{Path: "a/../b", MaxSize: 1 << 10}, origin.ErrInvalidPath, ""},
		{"past the end", origin.Request{Path: "blobs/sha256/ab/abcd.zst", MaxSize: 20, Offset: 11}, origin.ErrRange, ""},
		{"too large", origin.Request{Path: "blobs/sha256/ab/abcd.zst", MaxSize: 9}, origin.ErrTooLarge, ""},
		{"offset", origin.Request{Path: "blobs/sha256/ab/abcd.zst", MaxSize: 10, Offset: 4}, nil, "456789"},
		{"at the end", origin.Request{Path: "blobs/sha256/ab/abcd.zst", MaxSize: 10, Offset: 10}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := src.Fetch(ctx, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Fetch(%+v) error = %v, want %v", tt.req, err, tt.want)
			}
			if err == nil {
				if got := read(t, obj); got != tt.body || obj.Offset != tt.req.Offset {
					t.Errorf("body %q at offset %d, want %q at %d", got, obj.Offset, tt.body, tt.req.Offset)
				}
			}
		})
	}
	// A no-change poll is one request, a 304.
	srv.ResetStats()
	if _, err := src.Fetch(ctx, origin.Request{Path: "channels/stable.note", MaxSize: 1 << 10, ETag: obj.ETag}); !errors.Is(err, origin.ErrNotModified) {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Requests != 1 || st.NotModified != 1 {
		t.Errorf("no-change poll: %d requests, %d 304s; want one 304", st.Requests, st.NotModified)
	}
}

func TestReleaseSourceSeesReplacedAssets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, srv := stableServer(t, map[string]string{layout.SigningKeys: "k\n", "channels/stable.note": "v1\n", "blobs/x": "old"})
	first, err := src.Fetch(ctx, origin.Request{Path: "channels/stable.note", MaxSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	read(t, first)
	srv.PutAsset("v1", "channels_stable.note", []byte("v2\n"))
	srv.PutAsset("v1", "blobs_x", []byte("new"))
	// The blob is looked up in the listing held; its old id is gone, so the
	// source lists the release again.
	obj, err := src.Fetch(ctx, origin.Request{Path: "blobs/x", MaxSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, obj); got != "new" {
		t.Errorf("replaced blob = %q", got)
	}
	obj, err = src.Fetch(ctx, origin.Request{Path: "channels/stable.note", MaxSize: 100, ETag: first.ETag})
	if err != nil {
		t.Fatalf("changed pointer: %v", err)
	}
	if got := read(t, obj); got != "v2\n" {
		t.Errorf("changed pointer = %q", got)
	}
}

func TestReleaseSourceRefusesUnsigned(t *testing.T) {
	t.Parallel()
	src, _ := stableServer(t, map[string]string{"app.tar.gz": "binary"})
	_, err := src.Fetch(context.Background(), origin.Request{Path: "channels/stable.note", MaxSize: 100})
	if !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "allow_unsigned") {
		t.Errorf("error = %v, want ErrUnsigned saying how to allow it", err)
	}
}

func TestReleaseSourceNoRelease(t *testing.T) {
	t.Parallel()
	src, _ := stableServer(t, nil)
	_, err := src.Fetch(context.Background(), origin.Request{Path: "channels/stable.note", MaxSize: 100})
	if !errors.Is(err, origin.ErrNotFound) {
		t.Errorf("error = %v, want origin.ErrNotFound", err)
	}
}

func TestSizedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		data        string
		limit, want int64
		err         error
	}{
		{"exact", "abcd", 4, 4, nil},
		{"over the cap", "abcdef", 4, 4, origin.ErrTooLarge},
		{"short", "ab", 4, 4, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &sizedBody{rc: io.NopCloser(strings.NewReader(tt.data)), path: "p", limit: tt.limit, want: tt.want}
			got, err := io.ReadAll(b)
			if !errors.Is(err, tt.err) || int64(len(got)) > tt.limit {
				t.Errorf("read %q, %v; want at most %d bytes and %v", got, err, tt.limit, tt.err)
			}
		})
	}
}
