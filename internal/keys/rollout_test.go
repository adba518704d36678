package keys

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
)

// TestAddRollout: the rollout key gets role rollout:<channel> in the next
// list version, is not among the release or refresh signers, and is what
// LoadRollout signs with, for its channel only.
func TestAddRollout(t *testing.T) {
	t.Parallel()
	dir := generate(t, 1, 1)
	name, err := AddRollout(dir, "stable", RotateOptions{Expires: now.Add(time.Hour)})
	if err != nil || name != "ferry-rollout-stable-1" {
		t.Fatalf("AddRollout = %q, %v", name, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rollout-stable-1.key")); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 2 || slices.Contains(r.SignerNames(), name) || slices.Contains(r.RefreshNames(), name) {
		t.Fatalf("version %d, signers %v, refresh %v", r.Version, r.SignerNames(), r.RefreshNames())
	}
	l, err := r.Roots.OpenKeyList(r.List, now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadRollout(dir, "stable", now)
	if err != nil || len(s.Names) != 1 || s.Names[0] != name {
		t.Fatalf("LoadRollout = %+v, %v", s, err)
	}
	msg, err := s.Sign([]byte("ferry-rollout 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verifiers(trust.RoleRollout("stable")).Open(msg); err != nil {
		t.Errorf("rollout:stable refuses the rollout key: %v", err)
	}
	for _, role := range []string{trust.RoleRelease, trust.RoleRefresh, trust.RoleRollout("beta")} {
		if _, err := l.Verifiers(role).Open(msg); !errors.Is(err, trust.ErrUntrusted) {
			t.Errorf("role %s accepts the rollout key: %v", role, err)
		}
	}
	if _, err := LoadRollout(dir, "beta", now); !errors.Is(err, ErrMissing) {
		t.Errorf("LoadRollout of another channel: %v, want ErrMissing", err)
	}
	for _, bad := range []string{"", "a b", "a,b", "a/b"} {
		if _, err := AddRollout(dir, bad, RotateOptions{Expires: now.Add(time.Hour)}); !errors.Is(err, ErrUsage) {
			t.Errorf("AddRollout(%q) = %v, want ErrUsage", bad, err)
		}
	}
}
