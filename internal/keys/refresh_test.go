package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/google/go-cmp/cmp"
)

// TestListVersionGoesUp: every command that rewrites the list publishes the
// next version; the format-1 list names the release keys only.
func TestListVersionGoesUp(t *testing.T) {
	t.Parallel()
	dir := generate(t, 1, 1)
	for i, step := range []func() (string, error){
		func() (string, error) { return "", nil },
		func() (string, error) { return AddRefresh(dir, RotateOptions{Expires: now.Add(time.Hour)}) },
		func() (string, error) {
			return Rotate(dir, RotateOptions{Retire: "ferry-signing-1", Expires: now.Add(time.Hour)})
		},
		func() (string, error) {
			return AddRefresh(dir, RotateOptions{Retire: "ferry-refresh-1", Expires: now.Add(time.Hour)})
		},
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
		r, err := Load(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Version != uint64(i+1) {
			t.Errorf("step %d: list version %d, want %d", i, r.Version, i+1)
		}
	}
	r, _ := Load(dir, now)
	if diff := cmp.Diff([]string{"ferry-signing-2"}, r.SignerNames()); diff != "" {
		t.Errorf("release signers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ferry-refresh-2"}, r.RefreshNames()); diff != "" {
		t.Errorf("refresh signers (-want +got):\n%s", diff)
	}
	v1, err := r.Roots.OpenKeyList(r.Bundle, now)
	if err != nil || v1.Format != 1 || len(v1.Keys) != 1 || v1.Keys[0].Name() != "ferry-signing-2" {
		t.Errorf("format-1 list = %+v, %v; want ferry-signing-2 alone", v1, err)
	}
}

// TestRefreshOnlyFolder: a folder with root.pub, the lists and a refresh key
// (the cron machine's) signs pointers and refuses to sign a release.
func TestRefreshOnlyFolder(t *testing.T) {
	t.Parallel()
	dir := generate(t, 1, 1)
	if name, err := AddRefresh(dir, RotateOptions{Expires: now.Add(time.Hour)}); err != nil || name != "ferry-refresh-1" {
		t.Fatalf("AddRefresh = %q, %v", name, err)
	}
	for _, f := range []string{"signing-1.key", "root-1.key"} {
		os.Remove(filepath.Join(dir, f))
	}
	r, err := Load(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Sign([]byte("manifest\n")); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "ferry refresh") {
		t.Errorf("Sign without a release key: %v, want ErrMissing naming ferry refresh", err)
	}
	msg, err := r.SignRefresh([]byte("pointer\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pointers.Open(msg); err != nil {
		t.Errorf("refresh-signed pointer: %v", err)
	}
	if _, err := r.Signing.Open(msg); !errors.Is(err, trust.ErrUntrusted) {
		t.Errorf("refresh key passes as a release key: %v", err)
	}
}

// TestFolderBeforeFormat2: a folder made before format 2 (no
// signing-keys-2.note) still loads; its next rotation writes version 1.
func TestFolderBeforeFormat2(t *testing.T) {
	t.Parallel()
	dir := generate(t, 1, 1)
	os.Remove(filepath.Join(dir, ListFile))
	r, err := Load(dir, now)
	if err != nil || r.Version != 0 || r.List != nil {
		t.Fatalf("Load = %+v, %v", r, err)
	}
	if _, err := Rotate(dir, RotateOptions{Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if r, err = Load(dir, now); err != nil || r.Version != 1 {
		t.Fatalf("after rotate: %+v, %v", r, err)
	}
}
