package install

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestEncodeJournalMatchesMarshal: the streamed journal is byte for byte
// what json.Marshal made before, so readJournal and older agents read it.
func TestEncodeJournalMatchesMarshal(t *testing.T) {
	rec := &Record{Channel: "c", Version: "v<2>&", Sequence: 7, InstalledAt: time.Unix(1e9, 0).UTC()}
	old := &Record{Channel: "c", Version: "v1", Sequence: 6, Trial: true, Previous: &Record{Version: "v0"}}
	ops := []op{{Kind: opAdd, Path: "a/b", Mode: 0o644}, {Kind: opDelete, Path: "x\"y", N: 1, OldMode: 0o600}}
	for _, j := range []*journal{
		{Record: rec},
		{Record: rec, Ops: []op{}},
		{Record: rec, Old: old, Ops: ops[:1]},
		{Record: rec, Old: old, Ops: ops, Dirs: []string{"a", "a/b"}},
	} {
		want, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		if err := encodeJournal(w, j); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if got := b.String(); got != string(want)+"\n" {
			t.Errorf("encodeJournal:\n got %s\nwant %s", got, want)
		}
	}
}
