package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// Record is the commit record, <state>/installed.json: which release the
// target holds. Replacing it is the commit point of every transaction.
type Record struct {
	Channel     string          `json:"channel"`
	Version     string          `json:"version"`
	Sequence    uint64          `json:"sequence"`
	Manifest    manifest.Digest `json:"-"`
	ManifestHex string          `json:"manifest"`
	InstalledAt time.Time       `json:"installed_at"`
	// Trial is set while a health-gated release awaits Confirm.
	Trial bool `json:"trial,omitempty"`
	// Previous is the release to roll back to: while on trial, and in the
	// slots layout until the next update.
	Previous *Record `json:"previous,omitempty"`
	// Slot is the slot ("a" or "b") holding the release in the slots
	// layout; empty in place.
	Slot string `json:"slot,omitempty"`
}

// Same reports whether r and o name the same release document.
func (r *Record) Same(o *Record) bool {
	return r != nil && o != nil && r.Manifest == o.Manifest && r.Version == o.Version
}

func (r *Record) marshal() ([]byte, error) {
	r.fillHex()
	data, err := json.MarshalIndent(r, "", "  ")
	return append(data, '\n'), err
}

func (r *Record) fillHex() {
	if r == nil {
		return
	}
	r.ManifestHex = r.Manifest.String()
	r.Previous.fillHex()
}

func (r *Record) parseHex() error {
	if r == nil {
		return nil
	}
	d, err := manifest.ParseDigest(r.ManifestHex)
	if err != nil {
		return err
	}
	r.Manifest = d
	return r.Previous.parseHex()
}

const maxRecordSize = 64 << 10

// readRecord returns the commit record, or nil if nothing was ever installed.
func readRecord(fsys vfs.FS, state string) (*Record, error) {
	path := filepath.Join(state, "installed.json")
	data, err := readFile(fsys, path, maxRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrState, path, err)
	}
	if err := r.parseHex(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrState, path, err)
	}
	return &r, nil
}

func writeRecord(fsys vfs.FS, state string, r *Record) error {
	data, err := r.marshal()
	if err != nil {
		return err
	}
	return writeAtomic(fsys, filepath.Join(state, "installed.json"), data)
}
