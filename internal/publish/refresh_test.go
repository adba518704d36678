package publish

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// TestPointerLifetime: a release's pointer expires after
// DefaultPointerLifetime (or PointerLifetime), never after its manifest.
func TestPointerLifetime(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	opt := Options{Origin: origin, Channel: "stable", Version: "1.0", Expires: testNow.Add(365 * 24 * time.Hour), Keys: ring, Now: testNow}
	if _, err := Release(context.Background(), Dir{Root: treeV1.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	p, m := deviceView(t, keyDir, origin, "stable")
	if want := testNow.Add(7 * 24 * time.Hour); !p.Expires.Equal(want) || !m.Expires.Equal(opt.Expires) {
		t.Errorf("pointer expires %s (want %s), manifest %s (want %s)", p.Expires, want, m.Expires, opt.Expires)
	}
	opt.Version, opt.PointerLifetime, opt.Expires = "2.0", 2*time.Hour, testNow.Add(time.Hour)
	if _, err := Release(context.Background(), Dir{Root: treeV2.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	if p, _ := deviceView(t, keyDir, origin, "stable"); !p.Expires.Equal(opt.Expires) {
		t.Errorf("pointer expires %s, after its manifest's %s", p.Expires, opt.Expires)
	}
}

// TestRefresh: a folder holding only a refresh key re-signs the current
// pointer for the same release and sequence with a new expiry, even once
// it expired; a pointer that does not verify is refused.
func TestRefresh(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	opt := Options{Origin: origin, Channel: "stable", Version: "1.0", Expires: testNow.Add(365 * 24 * time.Hour), Keys: ring, Now: testNow}
	if _, err := Release(context.Background(), Dir{Root: treeV1.write(t)}, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.AddRefresh(keyDir, keys.RotateOptions{Expires: testNow.Add(keys.DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	cron := filepath.Join(t.TempDir(), "cron-keys")
	os.MkdirAll(cron, 0o700)
	for _, f := range []string{keys.RootPub, keys.BundleFile, keys.ListFile, "refresh-1.key"} {
		data, _ := os.ReadFile(filepath.Join(keyDir, f))
		os.WriteFile(filepath.Join(cron, f), data, 0o600)
	}
	before, _ := deviceView(t, keyDir, origin, "stable")
	later := testNow.Add(10 * 24 * time.Hour) // the pointer expired 3 days ago
	p, err := Refresh(context.Background(), origin, "stable", loadRing(t, cron), 0, later)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := deviceView(t, keyDir, origin, "stable")
	want := *before
	want.Expires = later.Add(7 * 24 * time.Hour)
	// The refreshed pointer names the list it was signed under: the cron
	// folder's, version 2 since AddRefresh.
	list, _ := os.ReadFile(filepath.Join(cron, keys.ListFile))
	want.Keys = manifest.KeysRef{Version: 2, SHA256: sha256.Sum256(list)}
	if before.Keys.Version != 1 {
		t.Errorf("the release's pointer names keys %+v, want version 1", before.Keys)
	}
	if *after != want || *p != want {
		t.Errorf("refreshed pointer %+v, returned %+v, want %+v", after, p, want)
	}
	msg, _ := os.ReadFile(filepath.Join(origin, layout.Channel("stable")))
	if !strings.Contains(string(msg), "— ferry-refresh-1 ") || strings.Contains(string(msg), "— ferry-signing-1 ") {
		t.Errorf("pointer not signed by the refresh key alone:\n%s", msg)
	}
	os.WriteFile(filepath.Join(origin, layout.Channel("stable")), []byte("forged\n\n— x AAAA\n"), 0o644)
	if _, err := Refresh(context.Background(), origin, "stable", loadRing(t, cron), 0, later); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("refresh of a forged pointer: %v", err)
	}
	if _, err := Refresh(context.Background(), origin, "beta", ring, 0, later); !errors.Is(err, ErrNoChannel) {
		t.Errorf("refresh of a missing channel: %v", err)
	}
}

// TestStaleKeyFolder: a key folder whose list is older than the origin's
// (a stale copy on the cron machine) does not overwrite it.
func TestStaleKeyFolder(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	if _, err := release(context.Background(), Dir{Root: treeV1.write(t)}, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(t.TempDir(), "stale")
	os.MkdirAll(stale, 0o700)
	entries, _ := os.ReadDir(keyDir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(keyDir, e.Name()))
		os.WriteFile(filepath.Join(stale, e.Name()), data, 0o600)
	}
	if _, err := keys.Rotate(keyDir, keys.RotateOptions{Expires: testNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Refresh(context.Background(), origin, "stable", loadRing(t, keyDir), 0, testNow); err != nil {
		t.Fatal(err)
	}
	newer, _ := os.ReadFile(filepath.Join(origin, layout.SigningKeys2))
	_, err := Refresh(context.Background(), origin, "stable", loadRing(t, stale), 0, testNow)
	if err == nil || !strings.Contains(err.Error(), "version 2, the key folder's is 1") {
		t.Fatalf("refresh with a stale key folder: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(origin, layout.SigningKeys2)); string(now) != string(newer) {
		t.Error("the origin's newer list was overwritten")
	}
}
