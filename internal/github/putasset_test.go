package github

import (
	"context"
	"errors"
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
	"github.com/ferry-ota/ferry/internal/origin"
)

// TestPutAsset: the fleet service's rollout document replaces the one on a
// published release (new id, so a device's ETag no longer matches), and
// ReadAsset reads it back; a name GitHub would rename is refused.
func TestPutAsset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := fakegh.New(t, "acme", "sensor-app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	srv.AddRelease("v1")
	srv.PutAsset("v1", "keys_signing-keys.note", []byte("keys"))
	srv.PutAsset("v1", "channels_stable.note", []byte("pointer"))
	c, _, _ := clientFor(t, srv, nil)
	rel, err := c.ReleaseByTag(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.PutAsset(ctx, rel, "rollouts_stable.note", []byte("doc 1"))
	if err != nil || first.Name != "rollouts_stable.note" || first.Size != 5 {
		t.Fatalf("first PutAsset: %+v, %v", first, err)
	}
	src := NewReleaseSource(c)
	obj, err := src.Fetch(ctx, origin.Request{Path: "rollouts/stable.note", MaxSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if rel, err = c.ReleaseByTag(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	second, err := c.PutAsset(ctx, rel, "rollouts_stable.note", []byte("doc 2, halted"))
	if err != nil || second.ID == first.ID {
		t.Fatalf("second PutAsset: %+v (first id %d), %v", second, first.ID, err)
	}
	if got, ok := srv.Asset("v1", "rollouts_stable.note"); !ok || string(got) != "doc 2, halted" {
		t.Errorf("asset after the replacement: %q, %v", got, ok)
	}
	if rel, err = c.ReleaseByTag(ctx, "v1"); err != nil || len(rel.Assets) != 3 {
		t.Fatalf("release after the replacement: %+v, %v (want one document beside the keys and pointer)", rel, err)
	}
	a, _ := rel.Asset("rollouts_stable.note")
	if data, err := c.ReadAsset(ctx, a, 1<<10); err != nil || string(data) != "doc 2, halted" {
		t.Errorf("ReadAsset: %q, %v", data, err)
	}
	if _, err := c.ReadAsset(ctx, a, 4); err == nil {
		t.Error("ReadAsset over its cap: no error")
	}
	// The device's held ETag is the first asset's: in its next poll, the
	// pointer's fetch refreshes the listing, and the document is fetched anew.
	ptr, err := src.Fetch(ctx, origin.Request{Path: "channels/stable.note", MaxSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ptr.Body.Close()
	obj2, err := src.Fetch(ctx, origin.Request{Path: "rollouts/stable.note", MaxSize: 1 << 10, ETag: obj.ETag})
	if err != nil || obj2.ETag == obj.ETag {
		t.Fatalf("fetch with the old ETag after the replacement: %+v, %v", obj2, err)
	}
	obj2.Body.Close()
	for _, bad := range []string{"", ".x", "rollouts/stable.note", "a b"} {
		if _, err := c.PutAsset(ctx, rel, bad, []byte("x")); !errors.Is(err, ErrAssetName) {
			t.Errorf("PutAsset %q: %v, want ErrAssetName", bad, err)
		}
	}
}
