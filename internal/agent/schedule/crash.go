package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/atomicfile"
)

// File names inside the state folder.
const (
	StateFile  = "schedule.json" // persisted schedule state
	MarkerFile = "agent.running" // present while the agent runs; left behind by a crash
)

// state is what survives restarts. It is rewritten only when it changes.
type state struct {
	LastCheck time.Time `json:"last_check,omitzero"`
	Crashes   int       `json:"crashes,omitempty"` // unclean restarts and watchdog resets since the last clean exit
	CrashAt   time.Time `json:"crash_at,omitzero"` // when the last one was noticed
	BootID    string    `json:"boot_id,omitempty"` // boot whose watchdog status was already counted
	LastCause string    `json:"last_cause,omitempty"`
}

func (s *Scheduler) load() error {
	data, err := os.ReadFile(filepath.Join(s.cfg.StateDir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := json.Unmarshal(data, &s.st); err != nil {
		// A torn file cannot happen (atomic writes); a corrupt one must not
		// stop updates forever: start afresh and say so.
		s.log.Warn("schedule state unreadable, starting afresh", "file", StateFile, "err", err)
		s.st = state{}
	}
	return nil
}

func (s *Scheduler) save() error {
	data, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if _, err := atomicfile.WriteIfChanged(filepath.Join(s.cfg.StateDir, StateFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// noticeCrashes counts an unclean exit (the marker is still there) and a
// watchdog reset (non-zero bootstatus on a boot not yet counted).
func (s *Scheduler) noticeCrashes(now time.Time) {
	marker := filepath.Join(s.cfg.StateDir, MarkerFile)
	if _, err := os.Lstat(marker); err == nil {
		s.crash(now, "unclean exit (crash, kill or power cut)")
	}
	bootID := readTrim(s.cfg.BootIDPath)
	if bootID == "" || bootID == s.st.BootID {
		return
	}
	s.st.BootID = bootID
	if f := s.watchdogReset(); f != "" {
		s.crash(now, "watchdog reset ("+f+")")
	}
}

func (s *Scheduler) crash(now time.Time, cause string) {
	s.st.Crashes++
	s.st.CrashAt = now
	s.st.LastCause = cause
	s.log.Warn("crash noticed", "cause", cause, "crashes", s.st.Crashes)
}

// watchdogReset returns the first bootstatus file with a non-zero value
// (WDIOF_CARDRESET and friends: the last reboot was the watchdog's).
func (s *Scheduler) watchdogReset() string {
	files, _ := filepath.Glob(s.cfg.WatchdogStatusGlob)
	for _, f := range files {
		v, err := strconv.ParseUint(readTrim(f), 0, 32)
		if err == nil && v != 0 {
			return f
		}
	}
	return ""
}

func readTrim(p string) string {
	if p == "" {
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// MarkClean records a clean exit: it removes the running marker and resets
// the crash count. Call it when the agent stops on purpose.
func (s *Scheduler) MarkClean() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := atomicfile.Remove(filepath.Join(s.cfg.StateDir, MarkerFile)); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	s.st.Crashes, s.st.CrashAt, s.st.LastCause = 0, time.Time{}, ""
	return s.save()
}

// Crashes returns the number of unclean restarts and watchdog resets since
// the last clean exit, and the cause of the latest.
func (s *Scheduler) Crashes() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Crashes, s.st.LastCause
}

// ReadCrashes returns the persisted crash count and latest cause without
// starting a scheduler, for `ferry-agent status` while the daemon runs.
func ReadCrashes(stateDir string) (int, string, error) {
	s := &Scheduler{cfg: Config{StateDir: stateDir}}
	data, err := os.ReadFile(filepath.Join(stateDir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := json.Unmarshal(data, &s.st); err != nil {
		return 0, "", fmt.Errorf("%w: %q: %w", ErrState, StateFile, err)
	}
	return s.st.Crashes, s.st.LastCause, nil
}
