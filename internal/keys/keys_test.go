package keys

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func generate(t *testing.T, roots, threshold int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := Generate(dir, GenerateOptions{Roots: roots, Threshold: threshold, Expires: now.Add(DefaultBundleLifetime)}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	dir := generate(t, 3, 2)
	modes := map[string]os.FileMode{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		modes[e.Name()] = info.Mode().Perm()
	}
	want := map[string]os.FileMode{"root-1.key": 0o600, "root-2.key": 0o600, "root-3.key": 0o600,
		"root.pub": 0o644, "signing-1.key": 0o600, "signing-keys.note": 0o644, "signing-keys-2.note": 0o644}
	if diff := cmp.Diff(want, modes); diff != "" {
		t.Errorf("key folder (-want +got):\n%s", diff)
	}
	r, err := Load(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Roots.Threshold != 2 {
		t.Errorf("root threshold = %d, want 2", r.Roots.Threshold)
	}
	if diff := cmp.Diff([]string{"ferry-signing-1"}, r.SignerNames()); diff != "" {
		t.Errorf("signers (-want +got):\n%s", diff)
	}
	msg, err := r.Sign([]byte("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	if text, err := r.Signing.Open(msg); err != nil || string(text) != "hello\n" {
		t.Errorf("Open(signed) = %q, %v", text, err)
	}
}

func TestGenerateRefusals(t *testing.T) {
	t.Parallel()
	existing := generate(t, 1, 1)
	tests := []struct {
		name string
		dir  string
		opt  GenerateOptions
		want error
	}{
		{"existing keys", existing, GenerateOptions{Roots: 1, Threshold: 1, Expires: now}, ErrExists},
		{"threshold above roots", t.TempDir(), GenerateOptions{Roots: 1, Threshold: 2, Expires: now}, ErrUsage},
		{"no roots", t.TempDir(), GenerateOptions{Roots: 0, Threshold: 0, Expires: now}, ErrUsage},
		{"no expiry", t.TempDir(), GenerateOptions{Roots: 1, Threshold: 1}, ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := Generate(tt.dir, tt.opt); !errors.Is(err, tt.want) {
				t.Errorf("Generate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPublicKey(t *testing.T) {
	t.Parallel()
	skey, vkey, err := trust.GenerateKey("ferry-test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := PublicKey(skey)
	if err != nil || got != vkey {
		t.Errorf("PublicKey = %q, %v; want %q", got, err, vkey)
	}
	for _, bad := range []string{"", vkey, "PRIVATE+KEY+x+00000000+AAAA"} {
		if _, err := PublicKey(bad); !errors.Is(err, trust.ErrFormat) {
			t.Errorf("PublicKey(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestRotate(t *testing.T) {
	t.Parallel()
	dir := generate(t, 1, 1)
	old, err := Load(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	oldSigned, err := old.Sign([]byte("old\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		retire  string
		newName string
		signers []string
		oldOK   bool // a note signed by ferry-signing-1 still verifies
	}{
		{"", "ferry-signing-2", []string{"ferry-signing-1", "ferry-signing-2"}, true},
		{"ferry-signing-1", "ferry-signing-3", []string{"ferry-signing-2", "ferry-signing-3"}, false},
	}
	for _, s := range steps {
		name, err := Rotate(dir, RotateOptions{Retire: s.retire, Expires: now.Add(time.Hour)})
		if err != nil || name != s.newName {
			t.Fatalf("Rotate(retire %q) = %q, %v; want %q", s.retire, name, err, s.newName)
		}
		r, err := Load(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s.signers, r.SignerNames()); diff != "" {
			t.Errorf("after retire %q: signers (-want +got):\n%s", s.retire, diff)
		}
		if _, err := r.Signing.Open(oldSigned); (err == nil) != s.oldOK {
			t.Errorf("after retire %q: old note verifies: %v, want ok=%v", s.retire, err, s.oldOK)
		}
	}
	if _, err := Rotate(dir, RotateOptions{Retire: "ferry-signing-1", Expires: now}); !errors.Is(err, ErrUsage) {
		t.Errorf("retiring a retired key: %v, want ErrUsage", err)
	}
}

func TestRotateExpiredAndMissingRoots(t *testing.T) {
	t.Parallel()
	dir := generate(t, 2, 2)
	later := now.Add(3 * DefaultBundleLifetime)
	if _, err := Load(dir, later); !errors.Is(err, trust.ErrExpired) {
		t.Fatalf("Load with an expired bundle = %v, want ErrExpired", err)
	}
	if _, err := Rotate(dir, RotateOptions{Expires: later.Add(time.Hour)}); err != nil {
		t.Fatalf("Rotate of an expired bundle: %v", err)
	}
	if _, err := Load(dir, later); err != nil {
		t.Errorf("Load after rotate: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "root-2.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := Rotate(dir, RotateOptions{Expires: later}); !errors.Is(err, ErrMissing) {
		t.Errorf("Rotate with 1 of 2 root keys = %v, want ErrMissing", err)
	}
}
