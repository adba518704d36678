package selfupdate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// Failed is an agent version that failed its self-check on this device.
type Failed struct {
	Version string    `json:"version"`
	SHA256  string    `json:"sha256"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
}

// maxFailed bounds agent-failed.json.
const maxFailed = 16

// FailedVersions returns the agent versions that failed, oldest first.
func (u *Updater) FailedVersions() ([]Failed, error) {
	data, err := install.ReadSmallFile(u.FS, u.failedPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []Failed
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", u.failedPath(), err)
	}
	return list, nil
}

func (u *Updater) failed(a manifest.Agent) (Failed, bool, error) {
	list, err := u.FailedVersions()
	for _, f := range list {
		if f.Version == a.Version && f.SHA256 == a.SHA256.String() {
			return f, true, nil
		}
	}
	return Failed{}, false, err
}

// fail records a as failed and returns ErrBroken with the cause (and any
// error of the clean-up, cleanup).
func (u *Updater) fail(a manifest.Agent, cause, cleanup error) error {
	list, err := u.FailedVersions()
	if err != nil {
		list = nil // a corrupt list must not hide the failure
	}
	now := time.Now()
	if u.Now != nil {
		now = u.Now()
	}
	list = append(list, Failed{Version: a.Version, SHA256: a.SHA256.String(), At: now.UTC(), Reason: cause.Error()})
	if len(list) > maxFailed {
		list = list[len(list)-maxFailed:]
	}
	rerr := install.WriteFileAtomic(u.FS, u.failedPath(), mustJSON(list))
	u.log().Error("the new agent failed its self-check: the previous one stays", "version", a.Version, "err", cause)
	return errors.Join(fmt.Errorf("%w: %s: %w", ErrBroken, a.Version, cause), cleanup, rerr)
}
