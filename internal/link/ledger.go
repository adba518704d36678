package link

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ferry-ota/ferry/internal/atomicfile"
)

// LedgerFile is the ledger's name in the state folder.
const LedgerFile = "budget.json"

// monthsKept bounds the history of spending kept in the ledger.
const monthsKept = 12

// Ledger is <state>/budget.json: what updates cost per calendar month (in
// the Ledger's location, local time by default) and when the pending
// release was first seen.
type Ledger struct {
	Path string
	Loc  *time.Location // nil: time.Local
}

// ledgerFile is the JSON of the ledger.
type ledgerFile struct {
	// Months maps "2006-01" to what updates cost in that month.
	Months map[string]float64 `json:"months"`
	// Pending is the release waiting for a free link, and when it was first seen.
	Pending   string    `json:"pending,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
}

// NewLedger returns the ledger of the state folder.
func NewLedger(state string) *Ledger { return &Ledger{Path: filepath.Join(state, LedgerFile)} }

func (l *Ledger) month(now time.Time) string {
	loc := l.Loc
	if loc == nil {
		loc = time.Local
	}
	return now.In(loc).Format("2006-01")
}

func (l *Ledger) read() (*ledgerFile, error) {
	f := &ledgerFile{}
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("link: budget ledger: %w", err)
	}
	if err := json.Unmarshal(data, f); err != nil {
		// A torn or edited ledger must not let the device spend freely:
		// refuse, naming the file, rather than start from nothing.
		return nil, fmt.Errorf("link: budget ledger %q is damaged (%v): fix or delete it", l.Path, err)
	}
	return f, nil
}

func (l *Ledger) write(f *ledgerFile) error {
	if len(f.Months) > monthsKept {
		keys := make([]string, 0, len(f.Months))
		for k := range f.Months {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys[:len(keys)-monthsKept] {
			delete(f.Months, k)
		}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(l.Path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("link: budget ledger: %w", err)
	}
	return nil
}

// Spent returns what updates cost in now's calendar month.
func (l *Ledger) Spent(now time.Time) (float64, error) {
	f, err := l.read()
	if err != nil {
		return 0, err
	}
	return f.Months[l.month(now)], nil
}

// Charge adds cost to now's calendar month.
func (l *Ledger) Charge(now time.Time, cost float64) error {
	if cost <= 0 {
		return nil
	}
	f, err := l.read()
	if err != nil {
		return err
	}
	if f.Months == nil {
		f.Months = map[string]float64{}
	}
	f.Months[l.month(now)] += cost
	return l.write(f)
}

// FirstSeen returns when the release key (its manifest digest) was first
// seen, recording now if it is new. Only one release is pending at a time:
// a newer one starts its own wait.
func (l *Ledger) FirstSeen(now time.Time, key string) (time.Time, error) {
	f, err := l.read()
	if err != nil {
		return time.Time{}, err
	}
	if f.Pending == key && !f.FirstSeen.IsZero() {
		return f.FirstSeen, nil
	}
	f.Pending, f.FirstSeen = key, now.UTC().Truncate(time.Second)
	return f.FirstSeen, l.write(f)
}
