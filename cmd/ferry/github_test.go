package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/github/fakegh"
)

func runFerry(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = ferryMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestReleaseToGitHub publishes a release into an origin folder and uploads
// it to a fake GitHub with --github.
func TestReleaseToGitHub(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, keyDir, origin, token := filepath.Join(dir, "src"), filepath.Join(dir, "keys"), filepath.Join(dir, "origin"), filepath.Join(dir, "token")
	if err := os.MkdirAll(filepath.Join(src, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{"app/main.py": "print(1)\n", "app/util.py": "x = 1\n", token: "ghp_x\n"} {
		if !filepath.IsAbs(p) {
			p = filepath.Join(src, p)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := fakegh.New(t, "acme", "app", fakegh.InitRepo(t, map[string]string{"README": "x"}))
	if code, _, errOut := runFerry(t, "keygen", "--out", keyDir); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	code, out, errOut := runFerry(t, "release", "--from", src, "--version", "1.0", "--keys", keyDir, "--origin", origin,
		"--github", "acme/app", "--tag", "v1.0", "--token-file", token, "--github-api", srv.URL)
	if code != 0 || !strings.HasSuffix(out, "uploaded 6 assets to GitHub release v1.0 of acme/app\n") {
		t.Fatalf("release --github: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	pointer, err := os.ReadFile(filepath.Join(origin, "channels", "stable.note"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := srv.Asset("v1.0", "channels_stable.note"); !ok || !bytes.Equal(got, pointer) {
		t.Errorf("asset channels_stable.note = %q, want the origin's pointer", got)
	}
	list, err := os.ReadFile(filepath.Join(origin, "keys", "signing-keys-2.note"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := srv.Asset("v1.0", "keys_signing-keys-2.note"); !ok || !bytes.Equal(got, list) {
		t.Errorf("asset keys_signing-keys-2.note = %q, want the origin's versioned signing-key list", got)
	}
	// A rollout change re-signs the pointer; --github replaces it on the release.
	code, out, errOut = runFerry(t, "rollout", "--keys", keyDir, "--origin", origin, "--percent", "10",
		"--github", "acme/app", "--tag", "v1.0", "--token-file", token, "--github-api", srv.URL)
	if code != 0 {
		t.Fatalf("rollout --github: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	pointer, err = os.ReadFile(filepath.Join(origin, "channels", "stable.note"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Asset("v1.0", "channels_stable.note"); !bytes.Equal(got, pointer) || !bytes.Contains(got, []byte("rollout 10\n")) {
		t.Errorf("asset channels_stable.note after rollout = %q, want the new pointer", got)
	}
	// A refresh re-signs it with a new expiry; --github replaces it too.
	code, out, errOut = runFerry(t, "refresh", "--keys", keyDir, "--origin", origin, "--lifetime", "1h",
		"--github", "acme/app", "--tag", "v1.0", "--token-file", token, "--github-api", srv.URL)
	if code != 0 {
		t.Fatalf("refresh --github: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	refreshed, err := os.ReadFile(filepath.Join(origin, "channels", "stable.note"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Asset("v1.0", "channels_stable.note"); bytes.Equal(refreshed, pointer) || !bytes.Equal(got, refreshed) {
		t.Errorf("asset channels_stable.note after refresh = %q, want the refreshed pointer %q", got, refreshed)
	}
}

func TestReleaseGitHubFlagRefusals(t *testing.T) {
	t.Parallel()
	base := []string{"release", "--from", "src", "--version", "1", "--keys", "k", "--origin", "o"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tag", "v1"}, "--tag and --token-file go with --github"},
		{[]string{"--github", "acme", "--tag", "v1"}, `--github "acme": want OWNER/REPO`},
		{[]string{"--github", "acme/app"}, "--github needs --tag TAG"},
	} {
		code, _, errOut := runFerry(t, append(base, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("release %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
