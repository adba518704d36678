package healthlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/ferry-ota/ferry/internal/atomicfile"
)

// Open loads the log at path (a missing file is an empty log), keeping the
// newest limit entries, and rotates it at once if its tail is torn. clk
// stamps entries added without a time (nil means the real clock).
func Open(path string, limit int, clk clock.Clock) (*Log, error) {
	l := newLog(path, limit, clk)
	clean, err := l.load()
	if err != nil {
		return nil, err
	}
	if !clean {
		if err := l.rotate(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// load reads the file; clean is false when a line was torn or corrupt.
func (l *Log) load() (clean bool, err error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrLog, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 4096)
	clean = true
	for {
		line, tooLong, err := readLine(r)
		if err == io.EOF {
			return clean, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: %q: %w", ErrLog, l.path, err)
		}
		l.lines++
		if tooLong || !l.loadLine(line) {
			clean = false
		}
	}
}

// readLine returns the next line without its newline, reading at most
// maxLine bytes of it into memory; a last line with no newline is torn.
func readLine(r *bufio.Reader) (line []byte, bad bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) <= maxLine {
			line = append(line, chunk...)
		} else {
			bad = true
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) > 0:
			return line, true, nil // torn: no newline at the end
		case err != nil:
			return nil, bad, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), bad, nil
	}
}

func (l *Log) loadLine(line []byte) bool {
	var e Entry
	if json.Unmarshal(line, &e) != nil || e.Kind == "" {
		return false
	}
	switch {
	case e.Kind == kindTotals:
		for k, n := range e.Counts {
			l.dropped[k] += max(n, 0)
		}
	case e.Pinned:
		l.pinned[e.Kind] = e
	default:
		l.push(e)
	}
	return true
}

// Add appends e to the log, stamping its time if it has none and truncating
// its text; it rotates the file when it has grown to about twice the limit.
func (l *Log) Add(e Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = l.clock.Now()
	}
	e.Message, e.Output = truncate(e.Message, MaxMessage), truncate(e.Output, MaxOutput)
	e.Pinned, e.Counts = false, nil
	l.push(e)
	if l.lines+1 > 2*l.limit+len(l.pinned)+1 {
		return l.rotate()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLog, err)
	}
	if err := appendSync(l.path, append(line, '\n')); err != nil {
		return err
	}
	l.lines++
	return nil
}

func appendSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLog, err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("%w: append to %q: %w", ErrLog, path, err)
	}
	return nil
}

// rotate rewrites the file atomically: totals, pinned entries, the window.
func (l *Log) rotate() error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	lines := 0
	write := func(e Entry) {
		enc.Encode(e) // an Entry always encodes
		lines++
	}
	if len(l.dropped) > 0 {
		write(Entry{Time: l.clock.Now(), Kind: kindTotals, Counts: l.dropped})
	}
	for _, e := range l.pinnedSorted() {
		e.Pinned = true
		write(e)
	}
	for _, e := range l.entries {
		write(e)
	}
	if err := atomicfile.Write(l.path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("%w: rotate: %w", ErrLog, err)
	}
	l.lines = lines
	return nil
}

func (l *Log) pinnedSorted() []Entry {
	out := make([]Entry, 0, len(l.pinned))
	for _, e := range l.pinned {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
