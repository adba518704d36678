package healthlog

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAdd measures one health log entry: an fsynced append, and a
// rotation every ~limit entries. It reports the file size, which stays
// bounded however many entries are added.
func BenchmarkAdd(b *testing.B) {
	path := filepath.Join(b.TempDir(), FileName)
	l, err := Open(path, 200, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := Entry{Kind: KindCheck, Version: "1.2.3", Message: "up to date"}
	for b.Loop() {
		if err := l.Add(e); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size()), "file-bytes")
}
