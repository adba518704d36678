package publish

import (
	"fmt"
	"io"
	"time"
)

// progress prints a status line to w at most once per interval.
type progress struct {
	w        io.Writer // nil: silent
	interval time.Duration
	last     time.Time
	files    int
	bytes    int64 // read from the source (hashed or compressed)
	newBlobs int
	newBytes int64 // compressed bytes of new blobs
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, interval: time.Second, last: time.Now()}
}

func (p *progress) read(n int64) {
	p.bytes += n
	p.maybePrint()
}

func (p *progress) file(zsize int64, isNew bool) {
	p.files++
	if isNew {
		p.newBlobs++
		p.newBytes += zsize
	}
	p.maybePrint()
}

func (p *progress) maybePrint() {
	if p.w == nil || time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "%d files, %s read, %d new blobs (%s)\n", p.files, mib(p.bytes), p.newBlobs, mib(p.newBytes))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
