package github

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/google/go-cmp/cmp"
)

// writeOrigin lays files out in a new folder, as `ferry release` does.
func writeOrigin(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestUploadRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	c, _, _ := clientFor(t, srv, nil)
	v1 := map[string]string{"keys/signing-keys.note": "keys", "channels/stable.note": "pointer 1",
		"releases/1/manifest.note": "manifest 1", "blobs/sha256/aa/aa.zst": "blob a"}
	assets, err := AssetsFromDir(writeOrigin(t, v1))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UploadRelease(ctx, "acme", "sensor-app", "v1", assets); err != nil {
		t.Fatal(err)
	}
	rel, err := c.ReleaseByTag(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, a := range rel.Assets {
		order = append(order, a.Name)
	}
	want := []string{"blobs_sha256_aa_aa.zst", "releases_1_manifest.note", "keys_signing-keys.note", "channels_stable.note"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("upload order (-want +got):\n%s", diff)
	}
	for p, data := range v1 {
		name, _ := AssetName(p)
		if got, ok := srv.Asset("v1", name); !ok || string(got) != data {
			t.Errorf("asset %q = %q, want %q", name, got, data)
		}
	}

	// Again with one changed file: only that one is deleted and uploaded.
	v1["channels/stable.note"] = "pointer 1b"
	assets, err = AssetsFromDir(writeOrigin(t, v1))
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetStats()
	if err := c.UploadRelease(ctx, "acme", "sensor-app", "v1", assets); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.ByRoute["DELETE /repos/{owner}/{repo}/releases/assets/{id}"] != 1 || st.ByRoute["POST /uploads/repos/{owner}/{repo}/releases/{id}/assets"] != 1 {
		t.Errorf("re-upload with one change: %v, want one delete and one upload", st.ByRoute)
	}
	if got, _ := srv.Asset("v1", "channels_stable.note"); string(got) != "pointer 1b" {
		t.Errorf("replaced asset = %q", got)
	}
}

func TestAssetsFromDirRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"collision", map[string]string{"a/b": "1", "a_b": "2"}},
		{"escape collision", map[string]string{"a b": "1", "a-20b": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := AssetsFromDir(writeOrigin(t, tt.files)); !errors.Is(err, ErrAssetName) {
				t.Errorf("error = %v, want ErrAssetName", err)
			}
		})
	}
}

func TestUploadReleaseDraftUntilComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	c, _, _ := clientFor(t, srv, nil)
	dir := writeOrigin(t, map[string]string{"keys/signing-keys.note": "keys", "channels/stable.note": "pointer"})
	assets, err := AssetsFromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The upload stops at a file that is missing: the release stays a draft.
	broken := map[string]string{"blobs_x": filepath.Join(dir, "missing")}
	for k, v := range assets {
		broken[k] = v
	}
	if err := c.UploadRelease(ctx, "acme", "sensor-app", "v2", broken); err == nil {
		t.Fatal("upload of a missing file: no error")
	}
	if _, _, err := c.LatestRelease(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("latest release during a stopped upload: %v, want ErrNotFound (a draft)", err)
	}
	if err := c.UploadRelease(ctx, "acme", "sensor-app", "v2", assets); err != nil {
		t.Fatal(err)
	}
	rel, _, err := c.LatestRelease(ctx)
	if err != nil || rel.TagName != "v2" || rel.Draft || len(rel.Assets) != 2 {
		t.Fatalf("latest release = %+v, %v; want v2 published with 2 assets", rel, err)
	}
	if n := srv.Stats().ByRoute["POST /repos/{owner}/{repo}/releases"]; n != 1 {
		t.Errorf("%d releases created, want 1 (the draft is finished, not made again)", n)
	}
}
