package selfupdate

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Target returns the device target of the running binary, as
// scripts/build-agents.sh names its binaries (ferry-agent-TARGET):
// "linux-armv7" for GOARCH=arm with GOARM=7, "linux-mipsle" for mipsle with
// GOMIPS=softfloat (runs with or without an FPU) and "linux-mipsle-hardfloat"
// for hardfloat, "linux-arm64" and so on.
func Target() string {
	arch := runtime.GOARCH
	switch arch {
	case "arm":
		arch = "armv" + setting("GOARM", "7")[:1]
	case "mips", "mipsle":
		if v := setting("GOMIPS", "softfloat"); v != "softfloat" {
			arch += "-" + v
		}
	}
	return runtime.GOOS + "-" + arch
}

// setting returns the build setting key of the running binary, or def.
func setting(key, def string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == key && s.Value != "" {
				return s.Value
			}
		}
	}
	return def
}

// ExecCheck is the self-check of a new agent: `PATH version` must exit 0
// within timeout and print "ferry-agent WANT ".
func ExecCheck(timeout time.Duration) func(ctx context.Context, path, want string) error {
	return func(ctx context.Context, path, want string) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, path, "version")
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = time.Second // a child it left holding the output does not hold us
		err := cmd.Run()
		if ctx.Err() != nil {
			return fmt.Errorf("%s version: no answer within %v", path, timeout)
		}
		if err != nil {
			return fmt.Errorf("%s version: %w: %q", path, err, truncate(out.String()))
		}
		if !strings.HasPrefix(out.String(), "ferry-agent "+want+" ") {
			return fmt.Errorf("%s version printed %q, want ferry-agent %s", path, truncate(out.String()), want)
		}
		return nil
	}
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
