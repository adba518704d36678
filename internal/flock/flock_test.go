package flock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestLockExcludesOtherProcesses: a lock held by this process makes another
// process's Lock fail with ErrBusy once its context ends, and succeed once
// released. The other process is this test binary, run as a helper.
func TestLockExcludesOtherProcesses(t *testing.T) {
	if p := os.Getenv("FLOCK_HELPER"); p != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := Lock(ctx, p); errors.Is(err, ErrBusy) {
			os.Exit(3)
		} else if err != nil {
			os.Exit(4)
		}
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	other := func() int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockExcludesOtherProcesses$")
		cmd.Env = append(os.Environ(), "FLOCK_HELPER="+path)
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := other(); code != 3 {
		t.Fatalf("while held: the other process exited %d, want 3 (ErrBusy)", code)
	}
	unlock()
	if code := other(); code != 0 {
		t.Fatalf("after unlock: the other process exited %d, want 0", code)
	}
}
