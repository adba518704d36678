// Package command runs the operator's shell commands (battery_command, the
// install hooks, restart_command, health_command) the one safe way: through
// /bin/sh -c, in a process group of its own, under a context deadline, with
// stdout and stderr captured together into a bounded buffer.
//
// A command that outlives its deadline is killed with its whole process group
// (a health script that starts a background process cannot keep the agent
// waiting), and output past the limit is dropped, keeping the head, so a
// chatty script cannot grow the agent's memory or its log.
package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrFailed means the command ran and exited non-zero or was killed.
	ErrFailed = errors.New("command: failed")
	// ErrTimeout means the command was killed at its deadline.
	ErrTimeout = errors.New("command: timed out")
	// ErrEmpty means there was no command to run.
	ErrEmpty = errors.New("command: empty command line")
)

// DefaultLimit is the default number of output bytes kept.
const DefaultLimit = 4096

// Result is what a command did.
type Result struct {
	Output    []byte // combined stdout and stderr, at most the limit
	Truncated bool   // output past the limit was dropped
	ExitCode  int    // -1 when killed by a signal or not started
	Duration  time.Duration
}

// Run runs line with /bin/sh -c, killed with its process group after
// timeout (no limit when timeout <= 0) or when ctx ends. limit bounds the
// captured output (DefaultLimit when <= 0). The error wraps ErrTimeout or
// ErrFailed and quotes the command.
func Run(ctx context.Context, line string, timeout time.Duration, limit int) (Result, error) {
	return RunEnv(ctx, line, nil, timeout, limit)
}

// RunEnv is Run with extra "KEY=value" environment entries added to the
// agent's own environment.
func RunEnv(ctx context.Context, line string, env []string, timeout time.Duration, limit int) (Result, error) {
	if line == "" {
		return Result{ExitCode: -1}, ErrEmpty
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	out := &boundedBuffer{limit: limit}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", line)
	cmd.Stdout, cmd.Stderr = out, out
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // do not wait forever on pipes held by orphans
	start := time.Now()
	err := cmd.Run()
	res := Result{Output: out.bytes(), Truncated: out.truncated, ExitCode: -1, Duration: time.Since(start)}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case err == nil:
		return res, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return res, fmt.Errorf("%w after %v: %q", ErrTimeout, res.Duration.Round(time.Millisecond), line)
	default:
		return res, fmt.Errorf("%w: %q: %w", ErrFailed, line, err)
	}
}

// boundedBuffer keeps the first limit bytes written to it.
type boundedBuffer struct {
	mu        sync.Mutex
	buf       []byte
	limit     int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - len(b.buf)
	if len(p) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:max(room, 0)]...)
	} else {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

func (b *boundedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}
