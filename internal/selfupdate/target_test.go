package selfupdate

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExecCheck(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("the test binaries are shell scripts")
	}
	check := ExecCheck(500 * time.Millisecond)
	ctx := context.Background()
	for _, tc := range []struct{ name, body, want string }{
		{"good", `echo "ferry-agent 2.0 (commit x, built y)"`, ""},
		{"exits at once", "exit 2", "exit status 2"},
		{"another version", `echo "ferry-agent 1.9 (commit x, built y)"`, "want ferry-agent 2.0"},
		{"hangs", "sleep 5", "no answer within 500ms"},
	} {
		err := check(ctx, script(t, tc.body), "2.0")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func TestTarget(t *testing.T) {
	t.Parallel()
	got := Target()
	if !strings.HasPrefix(got, runtime.GOOS+"-") || (runtime.GOARCH != "arm" && got != runtime.GOOS+"-"+runtime.GOARCH) {
		t.Fatalf("Target() = %q on %s/%s", got, runtime.GOOS, runtime.GOARCH)
	}
}
