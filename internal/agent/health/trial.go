package health

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Trial runs post_install, restart_command and the health check for the
// release just swapped in. The caller confirms when Result.Healthy and rolls
// back otherwise.
func (c *Checker) Trial(ctx context.Context, v Versions) Result {
	var r Result
	if s, ran := c.run(ctx, "post_install", c.cfg.PostInstall, v, c.cfg.HookTimeout); ran {
		r.Steps = append(r.Steps, s)
		if s.Err != nil {
			return r.fail(fmt.Sprintf("post_install failed: %v", s.Err))
		}
	}
	before := identify(c.cfg.HealthFile)
	if s, err := c.Restart(ctx, v); s.Name != "" {
		r.Steps = append(r.Steps, s)
		if err != nil {
			return r.fail(fmt.Sprintf("restart failed: %v", s.Err))
		}
	}
	switch {
	case c.cfg.HealthCommand != "":
		return c.pollCommand(ctx, v, r)
	case c.cfg.HealthFile != "":
		return c.pollFile(ctx, before, r)
	}
	r.Healthy, r.Reason = true, "healthy: restart succeeded (no health_command or health_file configured)"
	return r
}

func (r Result) fail(reason string) Result {
	r.Healthy, r.Reason = false, reason
	return r
}

// pollCommand runs health_command until it exits 0 or the budget is spent.
// Only the first and the last attempts are kept as steps.
func (c *Checker) pollCommand(ctx context.Context, v Versions, r Result) Result {
	deadline := c.cfg.Clock.Now().Add(c.cfg.Timeout)
	first := len(r.Steps)
	var last error
	for attempt := 1; ; attempt++ {
		left := deadline.Sub(c.cfg.Clock.Now())
		if left <= 0 {
			return r.fail(fmt.Sprintf("health_command did not pass within %v (%d attempts): %v", c.cfg.Timeout, attempt-1, last))
		}
		s, _ := c.run(ctx, "health_command", c.cfg.HealthCommand, v, left)
		if len(r.Steps) > first+1 {
			r.Steps = r.Steps[:first+1]
		}
		r.Steps = append(r.Steps, s)
		if s.Err == nil {
			r.Healthy, r.Reason = true, fmt.Sprintf("healthy: health_command passed on attempt %d", attempt)
			return r
		}
		last = s.Err
		if !c.wait(ctx, deadline) {
			return r.fail(fmt.Sprintf("health_command did not pass within %v (%d attempts): %v", c.cfg.Timeout, attempt, s.Err))
		}
	}
}

// pollFile waits for the health file to change from before.
func (c *Checker) pollFile(ctx context.Context, before fileID, r Result) Result {
	deadline := c.cfg.Clock.Now().Add(c.cfg.Timeout)
	start := c.cfg.Clock.Now()
	for {
		if id := identify(c.cfg.HealthFile); id.exists && id != before {
			r.Steps = append(r.Steps, Step{Name: "health_file", Command: c.cfg.HealthFile, Duration: c.cfg.Clock.Now().Sub(start)})
			r.Healthy, r.Reason = true, fmt.Sprintf("healthy: %q touched after the restart", c.cfg.HealthFile)
			return r
		}
		if !c.wait(ctx, deadline) {
			r.Steps = append(r.Steps, Step{Name: "health_file", Command: c.cfg.HealthFile, ExitCode: -1, Duration: c.cfg.Timeout})
			return r.fail(fmt.Sprintf("health_file %q not touched within %v of the restart", c.cfg.HealthFile, c.cfg.Timeout))
		}
	}
}

// wait sleeps one poll interval (less if the deadline is nearer) and
// reports whether there is budget left to try again.
func (c *Checker) wait(ctx context.Context, deadline time.Time) bool {
	left := deadline.Sub(c.cfg.Clock.Now())
	if left <= 0 {
		return false
	}
	t := c.cfg.Clock.NewTimer(min(c.cfg.PollInterval, left))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// fileID is what "touched" compares.
type fileID struct {
	exists bool
	size   int64
	mtime  time.Time
	ino    uint64
}

func identify(path string) fileID {
	if path == "" {
		return fileID{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	id := fileID{exists: true, size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id
}
