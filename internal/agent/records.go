package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/atomicfile"
	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// State files of the agent, beside the installer's records.
const (
	FailedFile     = "failed.json"      // releases that failed their health gate
	TrialBootsFile = "trial-boots.json" // starts with the installed release on trial
	maxFailed      = 16
)

// Failed is a release that failed its health gate. It is not installed
// again; a newer release (another manifest) is.
type Failed struct {
	Version  string    `json:"version"`
	Manifest string    `json:"manifest"` // hex SHA-256 of the manifest note
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrState, path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if _, err := atomicfile.WriteIfChanged(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// FailedReleases returns the releases that failed their health gate, oldest
// first, from the state folder.
func FailedReleases(stateDir string) ([]Failed, error) {
	var list []Failed
	err := readJSON(filepath.Join(stateDir, FailedFile), &list)
	return list, err
}

func (a *Agent) failedRelease(d manifest.Digest) (Failed, bool, error) {
	list, err := FailedReleases(a.cfg.State)
	for _, f := range list {
		if f.Manifest == d.String() {
			return f, true, err
		}
	}
	return Failed{}, false, err
}

// markFailed records rec as failed (bounded to the newest maxFailed).
func (a *Agent) markFailed(rec *install.Record, reason string) error {
	return MarkFailed(a.cfg.State, rec, reason, a.clock.Now())
}

// MarkFailed records rec in the state folder's failed releases (bounded to
// the newest 16): the daemon does not install it again, only a newer
// release. `ferry-agent rollback` records the release it leaves this way.
func MarkFailed(stateDir string, rec *install.Record, reason string, now time.Time) error {
	list, err := FailedReleases(stateDir)
	if err != nil {
		list = nil // a corrupt list must not block the rollback
	}
	list = append(list, Failed{Version: rec.Version, Manifest: rec.Manifest.String(), At: now, Reason: reason})
	if len(list) > maxFailed {
		list = list[len(list)-maxFailed:]
	}
	return writeJSON(filepath.Join(stateDir, FailedFile), list)
}

// trialBoots counts agent starts while one release is on trial.
type trialBoots struct {
	Version  string `json:"version"`
	Manifest string `json:"manifest"`
	Boots    int    `json:"boots"`
}

// countTrialBoot adds one start for rec and returns the count.
func (a *Agent) countTrialBoot(rec *install.Record) (int, error) {
	path := filepath.Join(a.cfg.State, TrialBootsFile)
	var tb trialBoots
	if err := readJSON(path, &tb); err != nil {
		a.log.Warn("trial boot counter unreadable, counting afresh", "err", err)
	}
	if tb.Manifest != rec.Manifest.String() {
		tb = trialBoots{Version: rec.Version, Manifest: rec.Manifest.String()}
	}
	tb.Boots++
	return tb.Boots, writeJSON(path, tb)
}

func (a *Agent) clearTrialBoots() error {
	if err := atomicfile.Remove(filepath.Join(a.cfg.State, TrialBootsFile)); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}
