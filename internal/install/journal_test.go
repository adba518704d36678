package install

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/vfs"
)

// legacyJournal is the journal as agents before the streamed plan held it
// and wrote it, with json.Marshal.
type legacyJournal struct {
	Record *Record  `json:"record"`
	Old    *Record  `json:"old,omitempty"`
	Ops    []op     `json:"ops"`
	Dirs   []string `json:"dirs,omitempty"`
}

// TestJournalWriterMatchesMarshal: the journal written as the plan goes
// (deletions spilled and appended, rmdirs last) is byte for byte what
// json.Marshal made of the whole journal before, so older agents read it.
func TestJournalWriterMatchesMarshal(t *testing.T) {
	rec := &Record{Channel: "c", Version: "v<2>&", Sequence: 7, InstalledAt: time.Unix(1e9, 0).UTC()}
	old := &Record{Channel: "c", Version: "v1", Sequence: 6, Trial: true, Previous: &Record{Version: "v0"}}
	add := op{Kind: opAdd, Path: "a/b", Mode: 0o644}
	del := op{Kind: opDelete, Path: "x\"y", OldMode: 0o600}
	chm := op{Kind: opChmod, Path: "c", Mode: 0o755, OldMode: 0o644}
	rmd := op{Kind: opRmdir, Path: "d/e", OldMode: 0o700}
	num := func(o op, n int) op { o.N = n; return o }
	for _, tc := range []struct {
		old    *Record
		in     []op // in the order planned
		rmdirs []op
		dirs   []string
		want   []op // as the journal lists them
	}{
		{in: []op{add}, want: []op{add}},
		{old: old, in: []op{del}, want: []op{del}},
		{old: old, in: []op{add, del, chm}, rmdirs: []op{rmd}, dirs: []string{"a", "a/b"},
			want: []op{num(add, 0), num(chm, 2), num(del, 1), num(rmd, 3)}},
		{old: old, in: []op{del, del, add}, rmdirs: []op{rmd, rmd},
			want: []op{num(add, 2), num(del, 0), num(del, 1), num(rmd, 3), num(rmd, 4)}},
	} {
		fsys := vfs.NewMemFS()
		if err := mkdirAll(fsys, "/s"); err != nil {
			t.Fatal(err)
		}
		jw := newJournalWriter(fsys, "/s/j", rec, tc.old)
		for _, o := range tc.in {
			jw.add(o)
		}
		if err := jw.end(tc.rmdirs, tc.dirs); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(legacyJournal{Record: rec, Old: tc.old, Ops: tc.want, Dirs: tc.dirs})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readFile(fsys, "/s/j", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want)+"\n" {
			t.Errorf("journal:\n got %s\nwant %s", got, want)
		}
		if _, err := fsys.Stat("/s/j.deletes"); err == nil {
			t.Error("the spill file of deletions is left behind")
		}
	}
}

// TestReadJournalOfOlderAgent: a journal an older agent wrote (the whole
// journal through json.Marshal, indented or not, ops null) is read: records,
// folders, every operation in order, the rmdirs kept for the undo.
func TestReadJournalOfOlderAgent(t *testing.T) {
	rec := &Record{Channel: "c", Version: "v2", Sequence: 7, InstalledAt: time.Unix(1e9, 0).UTC()}
	ops := []op{{Kind: opAdd, Path: "a/b", Mode: 0o644}, {Kind: opDelete, Path: "x", N: 1, OldMode: 0o600},
		{Kind: opRmdir, Path: "d/e", N: 2, OldMode: 0o700}, {Kind: opRmdir, Path: "d", N: 3, OldMode: 0o755}}
	for _, lj := range []legacyJournal{
		{Record: rec, Ops: ops, Dirs: []string{"a"}},
		{Record: rec, Old: &Record{Version: "v1"}},
	} {
		lj.Record.fillHex()
		lj.Old.fillHex()
		for _, indent := range []bool{false, true} {
			data, _ := json.Marshal(lj)
			if indent {
				data, _ = json.MarshalIndent(lj, "", "  ")
			}
			fsys := vfs.NewMemFS()
			in := &Installer{FS: fsys, State: "/s"}
			if err := mkdirAll(fsys, in.txn()); err != nil {
				t.Fatal(err)
			}
			if err := writeAtomic(fsys, in.journalPath(), data); err != nil {
				t.Fatal(err)
			}
			j, err := in.readJournal()
			if err != nil {
				t.Fatal(err)
			}
			var got []op
			if err := j.each(func(o op) error { got = append(got, o); return nil }); err != nil {
				t.Fatal(err)
			}
			var rmdirs []op
			for _, o := range lj.Ops {
				if o.Kind == opRmdir {
					rmdirs = append(rmdirs, o)
				}
			}
			if !slices.Equal(got, lj.Ops) || !slices.Equal(j.rmdirs, rmdirs) || !slices.Equal(j.Dirs, lj.Dirs) ||
				j.Record.Version != "v2" || (j.Old == nil) != (lj.Old == nil) {
				t.Errorf("read %+v, ops %v, rmdirs %v; wrote %s", j, got, j.rmdirs, data)
			}
		}
	}
}

// TestTextSize: a stored document is read up to its last blank line (a
// signed note's text), or whole (a manifest's text, which has none).
func TestTextSize(t *testing.T) {
	text := "ferry-manifest 1\nfiles 0\n"
	for doc, want := range map[string]int{
		text: len(text),
		text + "\n— key AAAA\n— other BBBB\n": len(text),
		text + "\n": len(text),
	} {
		got, err := textSize(strings.NewReader(doc), int64(len(doc)))
		if err != nil || got != int64(want) {
			t.Errorf("textSize(%q) = %d, %v; want %d", doc, got, err, want)
		}
	}
}
