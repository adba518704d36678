package publish

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProgress(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	p := newProgress(&out)
	p.interval = 0
	p.read(&p.hashed, 3<<20)
	p.read(&p.packed, 1<<20)
	p.file(512<<10, true)
	p.file(0, false)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := "2 files done, 3.0 MiB hashed, 1.0 MiB compressed, 1 new blobs (0.5 MiB)"
	if diff := cmp.Diff(want, lines[len(lines)-1]); diff != "" {
		t.Errorf("last progress line (-want +got):\n%s", diff)
	}
	silent := newProgress(nil)
	silent.interval = 0
	silent.file(1, true) // must not panic with no writer
	if silent.newBlobs != 1 {
		t.Errorf("silent progress counted %d new blobs, want 1", silent.newBlobs)
	}
}
