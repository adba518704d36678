package deltagen

import (
	"bytes"
	"context"
	"testing"

	"github.com/ferry-ota/ferry/internal/delta"
)

// TestDiffApply: Diff works through this package (it installs the
// suffix-array builder) and its patch applies with delta.Apply.
func TestDiffApply(t *testing.T) {
	t.Parallel()
	old := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 2000)
	nw := bytes.Replace(old, []byte("lazy"), []byte("sleepy"), 7)
	var patch bytes.Buffer
	if err := Diff(old, nw, &patch, Options{}); err != nil {
		t.Fatal(err)
	}
	if patch.Len() >= len(nw)/20 {
		t.Fatalf("patch of %d bytes for a 7-word edit of %d bytes", patch.Len(), len(nw))
	}
	var out bytes.Buffer
	if _, err := delta.Apply(context.Background(), bytes.NewReader(old), int64(len(old)), &patch, &out, int64(len(nw))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), nw) {
		t.Fatal("applied patch differs from the new content")
	}
}
