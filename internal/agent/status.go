package agent

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/schedule"
	"github.com/ferry-ota/ferry/internal/config"
	"github.com/ferry-ota/ferry/internal/link"
)

// WriteStatus prints the daemon's part of `ferry-agent status`: the latest
// update, rollback, deferral and error from the health log, the
// counts since the log began, crashes since the last clean exit and the
// releases that will not be retried. It only reads, so it is safe while the
// daemon runs.
func WriteStatus(w io.Writer, cfg *config.Config) error {
	s, err := healthlog.Read(filepath.Join(cfg.State, healthlog.FileName), cfg.ErrorHistoryLimit)
	if err != nil {
		return err
	}
	for _, l := range []struct {
		label string
		e     *healthlog.Entry
	}{
		// No "last check": the command prints it once, from the poll record
		// each successful check writes (the health log records no checks).
		{"last update", s.LastUpdate}, {"last rollback", s.LastRollback},
		{"last deferral", s.LastDeferral}, {"last error", s.LastError},
	} {
		fmt.Fprintf(w, "%-14s %s\n", l.label+":", describe(l.e))
	}
	fmt.Fprintf(w, "%-14s %s\n", "history:", counts(s.Counts))
	n, cause, err := schedule.ReadCrashes(cfg.State)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(w, "%-14s %d since the last clean exit (latest: %s)\n", "crashes:", n, cause)
	}
	failed, err := FailedReleases(cfg.State)
	if err != nil {
		return err
	}
	for _, f := range failed {
		fmt.Fprintf(w, "%-14s %s at %s: %s\n", "failed:", f.Version, f.At.Format(time.RFC3339), f.Reason)
	}
	if len(cfg.Transports) > 0 {
		return writeLinks(w, cfg.State, cfg.MonthlyBudget, link.NewLedger(cfg.State), time.Now())
	}
	return nil
}

func describe(e *healthlog.Entry) string {
	if e == nil {
		return "never"
	}
	parts := []string{e.Time.Format(time.RFC3339)}
	if e.Version != "" {
		parts = append(parts, e.Version)
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "  ")
}

func counts(c map[string]int) string {
	if len(c) == 0 {
		return "empty"
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", c[k], k)
	}
	return b.String()
}
