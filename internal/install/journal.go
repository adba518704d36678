package install

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// journal is <state>/txn/journal.json: everything recovery needs to undo or
// finish a transaction, written and fsynced before the first change to the
// target.
type journal struct {
	Record *Record  `json:"record"`         // what the transaction commits
	Old    *Record  `json:"old,omitempty"`  // the record before it (nil: nothing installed)
	Ops    []op     `json:"ops"`            // add, replace, chmod; then delete; then rmdir, deepest first
	Dirs   []string `json:"dirs,omitempty"` // folders it creates, shallowest first
}

const maxJournalSize = 256 << 20

// writeJournal streams the journal through one buffer into a temp file,
// fsyncs it and renames it into place (then fsyncs the folder): the journal
// exists whole or not at all.
func (in *Installer) writeJournal(j *journal) error {
	j.Record.fillHex()
	j.Old.fillHex()
	path := in.journalPath()
	tmp := path + ".tmp"
	f, err := in.FS.Create(tmp, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	bw := bufio.NewWriterSize(f, copyBufSize)
	err = encodeJournal(bw, j)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = in.FS.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	return syncDir(in.FS, filepath.Dir(path))
}

// encodeJournal writes j as json.Marshal would (the same fields, in the same
// order, with omitempty), one operation at a time: the journal of a release
// of many files is never held in memory whole, only its operations.
func encodeJournal(w *bufio.Writer, j *journal) error {
	var err error
	put := func(prefix string, v any) {
		if err != nil {
			return
		}
		w.WriteString(prefix)
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			_, err = w.Write(b)
		}
	}
	put(`{"record":`, j.Record)
	if j.Old != nil {
		put(`,"old":`, j.Old)
	}
	sep := `,"ops":[`
	for i := range j.Ops {
		put(sep, &j.Ops[i])
		sep = ","
	}
	switch {
	case j.Ops == nil:
		w.WriteString(`,"ops":null`)
	case len(j.Ops) == 0:
		w.WriteString(`,"ops":[]`)
	default:
		w.WriteString("]")
	}
	if len(j.Dirs) > 0 {
		put(`,"dirs":`, j.Dirs)
	}
	if err != nil {
		return err
	}
	_, err = w.WriteString("}\n")
	return err
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
	if in.slots() {
		sw, err := in.readSwitch()
		if err != nil || sw == nil {
			return nil, err
		}
		return sw.Record, nil
	}
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
