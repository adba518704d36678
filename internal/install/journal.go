package install

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// journal is <state>/txn/journal.json: everything recovery needs to undo or
// finish a transaction, written and fsynced before the first change to the
// target. Its operations are not held in memory: they are read from the
// file (each) whenever they are walked.
type journal struct {
	Record *Record  `json:"record"`         // what the transaction commits
	Old    *Record  `json:"old,omitempty"`  // the record before it (nil: nothing installed)
	Dirs   []string `json:"dirs,omitempty"` // folders it creates, shallowest first

	path   string // the file the operations are read from
	in     *Installer
	rmdirs []op // its rmdir operations, in order (few; an undo reverses them)
}

// each calls fn with every operation of the journal, in order: add,
// replace, chmod; then delete; then rmdir, deepest first.
func (j *journal) each(fn func(op) error) error {
	return j.in.eachOp(j.path, fn)
}

// journalWriter writes a journal as its operations are planned: the record
// first, the operations one at a time, the deletions (planned among the
// others) spilled to a second file and copied after them, then the rmdirs
// and the folders. The result is what json.Marshal made of the whole
// journal before, byte for byte (TestJournalWriterMatchesMarshal). Nothing
// is written before the first operation: a plan with none leaves the state
// folder untouched.
type journalWriter struct {
	fs         vfs.FS
	path       string // the temporary journal; renamed into place by commitJournal
	rec, old   *Record
	f, spill   vfs.File
	w, sw      *bufio.Writer
	n, spilled int
	err        error
}

// newJournalWriter prepares the temporary journal at path, of the
// transaction that commits rec over old.
func newJournalWriter(fsys vfs.FS, path string, rec, old *Record) *journalWriter {
	return &journalWriter{fs: fsys, path: path, rec: rec, old: old}
}

// open creates the folder, the journal and its spill file, and writes the
// records.
func (jw *journalWriter) open() error {
	jw.rec.fillHex()
	jw.old.fillHex()
	if err := mkdirAll(jw.fs, filepath.Dir(jw.path)); err != nil {
		return err
	}
	var err error
	if jw.f, err = jw.fs.Create(jw.path, 0o600); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if jw.spill, err = jw.fs.Create(jw.path+".deletes", 0o600); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	jw.w, jw.sw = bufio.NewWriterSize(jw.f, 16<<10), bufio.NewWriterSize(jw.spill, 4<<10)
	jw.put(jw.w, `{"record":`, jw.rec)
	if jw.old != nil {
		jw.put(jw.w, `,"old":`, jw.old)
	}
	return nil
}

// put writes prefix and v's JSON.
func (jw *journalWriter) put(w *bufio.Writer, prefix string, v any) {
	if jw.err != nil {
		return
	}
	w.WriteString(prefix)
	b, err := json.Marshal(v)
	if err == nil {
		_, err = w.Write(b)
	}
	jw.err = err
}

// add writes one operation (numbered by the writer); deletions are held
// back in the spill file until end.
func (jw *journalWriter) add(o op) {
	if jw.f == nil && jw.err == nil {
		jw.err = jw.open()
	}
	if jw.err != nil {
		return
	}
	o.N = jw.n + jw.spilled
	if o.Kind == opDelete {
		sep := ","
		if jw.spilled == 0 {
			sep = ""
		}
		jw.put(jw.sw, sep, &o)
		jw.spilled++
		return
	}
	sep := ","
	if jw.n == 0 {
		sep = `,"ops":[`
	}
	jw.put(jw.w, sep, &o)
	jw.n++
}

// ops returns how many operations were written.
func (jw *journalWriter) ops() int { return jw.n + jw.spilled }

// end appends the deletions, then rmdirs and the folders, closes the
// journal and fsyncs it. It is not in place (commitJournal) yet. With no
// operation at all, there is no journal.
func (jw *journalWriter) end(rmdirs []op, dirs []string) error {
	if jw.f == nil && jw.err == nil && len(rmdirs) == 0 {
		return nil
	}
	if jw.err == nil && jw.spilled > 0 {
		if jw.err = jw.sw.Flush(); jw.err == nil {
			sep := ","
			if jw.n == 0 {
				sep = `,"ops":[`
			}
			jw.w.WriteString(sep)
			jw.n, jw.spilled = jw.n+jw.spilled, 0
			_, jw.err = io.Copy(jw.w, io.NewSectionReader(jw.spill, 0, 1<<62))
		}
	}
	for _, o := range rmdirs {
		jw.add(o)
	}
	if jw.n == 0 {
		jw.w.WriteString(`,"ops":[]`)
	} else {
		jw.w.WriteString("]")
	}
	if len(dirs) > 0 {
		jw.put(jw.w, `,"dirs":`, dirs)
	}
	if jw.err == nil {
		_, jw.err = jw.w.WriteString("}\n")
	}
	if jw.err == nil {
		jw.err = jw.w.Flush()
	}
	if jw.err == nil {
		jw.err = jw.f.Sync()
	}
	err := jw.close()
	if jw.err == nil {
		jw.err = err
	}
	if jw.err != nil {
		return fmt.Errorf("journal %s: %w", jw.path, jw.err)
	}
	return nil
}

// close closes both files and removes the spill file.
func (jw *journalWriter) close() error {
	var err error
	for _, f := range []vfs.File{jw.f, jw.spill} {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
	}
	if jw.f == nil {
		return err
	}
	if rerr := jw.fs.Remove(jw.path + ".deletes"); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// commit renames the finished journal into place and fsyncs its folder:
// from here on, recovery knows what to undo.
func (in *Installer) commitJournal(tmp string) error {
	if err := in.FS.Rename(tmp, in.journalPath()); err != nil {
		return fmt.Errorf("journal %s: %w", in.journalPath(), err)
	}
	return syncDir(in.FS, filepath.Dir(in.journalPath()))
}

// readJournal returns the journal of the transaction in flight, or nil. Its
// operations are read once here, to check them and keep the rmdirs, and
// again by each.
func (in *Installer) readJournal() (*journal, error) {
	j := &journal{path: in.journalPath(), in: in}
	err := in.decodeJournal(j.path, j, func(o op) error {
		if o.Kind == opRmdir {
			j.rmdirs = append(j.rmdirs, o)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil && j.Record == nil {
		err = errors.New("no record")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: unreadable (%v): restore the target by hand or reinstall, then delete the txn folder", ErrState, in.journalPath(), err)
	}
	if err := errors.Join(j.Record.parseHex(), j.Old.parseHex()); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrState, in.journalPath(), err)
	}
	return j, nil
}

// eachOp calls fn with every operation of the journal at path, in order.
func (in *Installer) eachOp(path string, fn func(op) error) error {
	err := in.decodeJournal(path, nil, fn)
	if errors.Is(err, errJournalFn) {
		return errors.Unwrap(err)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: unreadable (%v)", ErrState, path, err)
	}
	return nil
}

// errJournalFn wraps an error of decodeJournal's fn.
var errJournalFn = errors.New("journal fn")

type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }
func (e fnError) Unwrap() error { return e.err }
func (e fnError) Is(t error) bool {
	return t == errJournalFn
}

// decodeJournal reads the journal at path one value at a time: into j (if
// not nil) its records and folders, and each operation to fn.
func (in *Installer) decodeJournal(path string, j *journal, fn func(op) error) error {
	f, err := in.FS.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(io.LimitReader(f, maxJournalSize), 16<<10))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a journal object (%v)", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch key, _ := t.(string); {
		case key == "ops":
			err = decodeOps(dec, fn)
		case j != nil && key == "record":
			err = dec.Decode(&j.Record)
		case j != nil && key == "old":
			err = dec.Decode(&j.Old)
		case j != nil && key == "dirs":
			err = dec.Decode(&j.Dirs)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// decodeOps reads the "ops" array (or null), one operation at a time.
func decodeOps(dec *json.Decoder, fn func(op) error) error {
	t, err := dec.Token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return fmt.Errorf("ops is not an array")
	}
	for dec.More() {
		var o op
		if err := dec.Decode(&o); err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return fnError{err}
		}
	}
	_, err = dec.Token()
	return err
}

const maxJournalSize = 1 << 30

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
