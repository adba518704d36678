package healthlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/clock"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

func open(t *testing.T, path string, limit int, clk clock.Clock) *Log {
	t.Helper()
	l, err := Open(path, limit, clk)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func add(t *testing.T, l *Log, e Entry) {
	t.Helper()
	if err := l.Add(e); err != nil {
		t.Fatal(err)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s does not end in a newline", path)
	}
	return bytes.Count(b, []byte("\n"))
}

func TestAddReopenSummary(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	clk := clock.NewFake(t0)
	l := open(t, path, 10, clk)
	add(t, l, Entry{Kind: KindCheck})
	clk.Advance(time.Minute)
	add(t, l, Entry{Kind: KindUpdate, Version: "1.2.0", Message: "installed"})
	clk.Advance(time.Minute)
	add(t, l, Entry{Kind: KindError, Message: `fetch "x": timeout`})

	got, err := Read(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{
		LastCheck:  &Entry{Time: t0, Kind: KindCheck},
		LastUpdate: &Entry{Time: t0.Add(time.Minute), Kind: KindUpdate, Version: "1.2.0", Message: "installed"},
		LastError:  &Entry{Time: t0.Add(2 * time.Minute), Kind: KindError, Message: `fetch "x": timeout`},
		Counts:     map[string]int{KindCheck: 1, KindUpdate: 1, KindError: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Recent")); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(l.Summary(), got); diff != "" {
		t.Errorf("reloaded summary differs from the live one (-live +reloaded):\n%s", diff)
	}
}

func TestRotationKeepsNewestAndPinsLastOfEachKind(t *testing.T) {
	t.Parallel()
	tests := []struct{ limit, n int }{{1, 10}, {3, 50}, {5, 11}, {10, 200}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit%d_n%d", tt.limit, tt.n), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), FileName)
			clk := clock.NewFake(t0)
			l := open(t, path, tt.limit, clk)
			add(t, l, Entry{Kind: KindUpdate, Version: "0.9"})
			for i := 1; i < tt.n; i++ {
				clk.Advance(time.Second)
				add(t, l, Entry{Kind: KindCheck, Message: fmt.Sprint(i)})
				if lines := countLines(t, path); lines > 2*tt.limit+3 {
					t.Fatalf("after %d entries the file has %d lines: not bounded by the limit %d", i+1, lines, tt.limit)
				}
			}
			s, err := Read(path, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if s.LastUpdate == nil || s.LastUpdate.Version != "0.9" {
				t.Errorf("LastUpdate = %+v, want the pinned 0.9 update", s.LastUpdate)
			}
			if diff := cmp.Diff(map[string]int{KindUpdate: 1, KindCheck: tt.n - 1}, s.Counts); diff != "" {
				t.Errorf("Counts (-want +got):\n%s", diff)
			}
			if len(s.Recent) != tt.limit || s.Recent[tt.limit-1].Message != fmt.Sprint(tt.n-1) {
				t.Errorf("Recent has %d entries ending %+v; want the newest %d", len(s.Recent), s.Recent[len(s.Recent)-1], tt.limit)
			}
		})
	}
}

func TestTornTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tail string
	}{
		{"half a line", `{"time":"2026-05-01T00:00:00Z","kind":"che`},
		{"whole line without newline", `{"time":"2026-05-01T00:00:00Z","kind":"check"}`},
		{"garbage line", "\x00\x00\x00\n"},
		{"overlong line", strings.Repeat("x", maxLine+10) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), FileName)
			good := `{"time":"2026-05-01T00:00:00Z","kind":"update","version":"1"}` + "\n"
			if err := os.WriteFile(path, []byte(good+tt.tail), 0o600); err != nil {
				t.Fatal(err)
			}
			l := open(t, path, 5, clock.NewFake(t0))
			add(t, l, Entry{Kind: KindError, Message: "after the cut"})
			s, err := Read(path, 5)
			if err != nil {
				t.Fatal(err)
			}
			kinds := []string{}
			for _, e := range s.Recent {
				kinds = append(kinds, e.Kind)
			}
			if diff := cmp.Diff([]string{KindUpdate, KindError}, kinds); diff != "" {
				t.Errorf("entries after a torn tail (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadDoesNotWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	torn := []byte(`{"time":"2026-05-01T00:00:00Z","kind":"check"}` + "\n{\"ti")
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Read(path, 5)
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts[KindCheck] != 1 {
		t.Errorf("Counts = %v, want one check", s.Counts)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, torn) {
		t.Error("Read modified the log")
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none"), 5); err != nil {
		t.Errorf("Read of a missing log: %v, want an empty summary", err)
	}
}

func TestTruncation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	l := open(t, path, 5, nil)
	add(t, l, Entry{Kind: KindError, Message: strings.Repeat("m", 10*MaxMessage), Output: strings.Repeat("o", 10*MaxOutput)})
	e := l.Summary().LastError
	if len(e.Message) > MaxMessage+20 || len(e.Output) > MaxOutput+20 || !strings.HasSuffix(e.Output, "[truncated]") {
		t.Errorf("entry not truncated: msg %d bytes, output %d bytes", len(e.Message), len(e.Output))
	}
	if e.Time.IsZero() {
		t.Error("entry without a time was not stamped")
	}
}

func TestOpenError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // a directory where the file should be
	if _, err := Open(dir, 5, nil); err == nil {
		t.Error("Open of a directory succeeded")
	}
}
