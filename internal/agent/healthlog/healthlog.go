// Package healthlog keeps the agent's bounded history of what it did: checks,
// updates, deferrals, rollbacks and errors, as JSON lines in
// <state>/health.jsonl, and summarises it for `ferry-agent status`.
//
// Bounds. Memory holds at most Limit entries (error_history_limit) plus one
// pinned entry per kind, and every entry's text is truncated (MaxMessage,
// MaxOutput), so neither memory nor the file grows with uptime.
//
// Flash and power cuts. An entry is appended to the file and fsynced: one
// small write per event, not a rewrite. When the file holds about twice the
// limit, it is rotated: rewritten atomically (temp, fsync, rename, fsync
// dir) with the newest Limit entries. A power cut during an append can leave
// a torn last line; loading skips lines that do not parse and the next
// rotation drops them, and Open rotates at once when the file does not end
// in a newline, so a torn line never glues itself to the next one.
//
// Summary. `status` wants the last update even after hundreds of checks have
// pushed it out of the window, and counts since the log began. So a rotation
// writes first a totals line (counts of the entries dropped so far) and then,
// marked pinned, the newest dropped entry of each kind; the summary adds the
// totals to the counts of the retained entries.
package healthlog

import (
	"errors"
	"sync"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
)

// ErrLog wraps failures to read or write the health log.
var ErrLog = errors.New("healthlog")

// FileName is the log's name inside the state folder.
const FileName = "health.jsonl"

// Kinds of entries.
const (
	KindStart    = "start"
	KindCheck    = "check"
	KindDeferral = "deferral"
	KindUpdate   = "update"
	KindRollback = "rollback"
	KindError    = "error"
	kindTotals   = "totals"
)

// Truncation limits for an entry's text fields, in bytes.
const (
	MaxMessage = 512
	MaxOutput  = 2048
	maxLine    = 16 << 10 // longer lines are not entries this package wrote
)

// Entry is one event.
type Entry struct {
	Time    time.Time      `json:"time"`
	Kind    string         `json:"kind"`
	Version string         `json:"version,omitempty"`
	Message string         `json:"msg,omitempty"`
	Output  string         `json:"output,omitempty"` // captured command output, truncated
	Pinned  bool           `json:"pinned,omitempty"` // kept past rotation for the summary
	Counts  map[string]int `json:"counts,omitempty"` // totals line only
}

// Log is an open health log. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	path    string
	limit   int
	clock   clock.Clock
	entries []Entry          // newest last, at most limit
	pinned  map[string]Entry // newest dropped entry of each kind
	dropped map[string]int   // counts of dropped entries by kind
	lines   int              // lines in the file
}

func newLog(path string, limit int, clk clock.Clock) *Log {
	if limit < 1 {
		limit = 1
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Log{path: path, limit: limit, clock: clk, pinned: map[string]Entry{}, dropped: map[string]int{}}
}

// push adds e to the in-memory window, dropping (and pinning) the oldest.
func (l *Log) push(e Entry) {
	l.entries = append(l.entries, e)
	if len(l.entries) <= l.limit {
		return
	}
	old := l.entries[0]
	l.entries = append(l.entries[:0], l.entries[1:]...)
	l.dropped[old.Kind]++
	l.pinned[old.Kind] = old
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…[truncated]"
}
