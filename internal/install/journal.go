package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// journal is <state>/txn/journal.json: everything recovery needs to undo or
// finish a transaction, written and fsynced before the first change to the
// target.
type journal struct {
	Record *Record  `json:"record"`        // what the transaction commits
	Old    *Record  `json:"old,omitempty"` // the record before it (nil: nothing installed)
	Ops    []op     `json:"ops"`
	Dirs   []string `json:"dirs,omitempty"` // folders it creates, shallowest first
}

const maxJournalSize = 256 << 20

func (in *Installer) writeJournal(j *journal) error {
	j.Record.fillHex()
	j.Old.fillHex()
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode journal: %w", err)
	}
	if err := writeAtomic(in.FS, in.journalPath(), append(data, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// readJournal returns the journal of the transaction in flight, or nil.
func (in *Installer) readJournal() (*journal, error) {
	data, err := readFile(in.FS, in.journalPath(), maxJournalSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil || j.Record == nil {
		return nil, fmt.Errorf("%w: %s: unreadable (%v): restore the target by hand or reinstall, then delete the txn folder", ErrState, in.journalPath(), err)
	}
	if err := errors.Join(j.Record.parseHex(), j.Old.parseHex()); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrState, in.journalPath(), err)
	}
	return &j, nil
}

// InFlight returns the record a transaction in flight would commit, or nil
// when there is none.
func (in *Installer) InFlight() (*Record, error) {
	j, err := in.readJournal()
	if err != nil || j == nil {
		return nil, err
	}
	return j.Record, nil
}

// syncFile fsyncs the file at path (after a chmod).
func syncFile(fsys vfs.FS, path string) error {
	f, err := fsys.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return f.Close()
}
