package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/trust"
)

// TrustedFile is the state file that records the newest format-2
// signing-key list the device verified: its version and the SHA-256 of its
// text. Unlike poll.json (a cache), it is never discarded: it is what lets
// the device refuse an older list. It is written atomically, and only when
// a newer list is verified.
const TrustedFile = "signing-keys.json"

// loadTrusted reads the record; none yet is the zero Trusted.
func loadTrusted(in *install.Installer) (trust.Trusted, error) {
	var t trust.Trusted
	name := filepath.Join(in.State, TrustedFile)
	data, err := install.ReadSmallFile(in.FS, name)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(data, &t); err != nil || t.Version > 0 && len(t.SHA256) != 64 {
		return t, fmt.Errorf("%s is damaged (%v): it records the newest signing-key list this device trusts; restore it, or delete it to trust the origin's list afresh", name, err)
	}
	return t, nil
}

// saveTrusted replaces the record.
func saveTrusted(in *install.Installer, t trust.Trusted) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(in.State, TrustedFile)
	if err := install.WriteFileAtomic(in.FS, name, append(data, '\n')); err != nil {
		return fmt.Errorf("record the trusted signing-key list: %w", err)
	}
	return nil
}

// TrustedKeys returns the version of the newest signing-key list the device
// verified (0: none of format 2).
func TrustedKeys(in *install.Installer) (uint64, error) {
	t, err := loadTrusted(in)
	return t.Version, err
}
