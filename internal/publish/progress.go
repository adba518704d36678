package publish

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress counts the work of a publish and prints a status line to w at
// most once per interval. It is safe for concurrent use.
type progress struct {
	mu       sync.Mutex
	w        io.Writer // nil: silent
	interval time.Duration
	last     time.Time
	files    int
	hashed   int64 // bytes hashed to look for a blob already stored
	packed   int64 // bytes compressed into new blobs
	newBlobs int
	newBytes int64 // compressed bytes of new blobs
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, interval: time.Second, last: time.Now()}
}

// read counts n bytes read from the source into *counter.
func (p *progress) read(counter *int64, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*counter += n
	p.maybePrint()
}

func (p *progress) file(zsize int64, isNew bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
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
	fmt.Fprintf(p.w, "%d files done, %s hashed, %s compressed, %d new blobs (%s)\n",
		p.files, mib(p.hashed), mib(p.packed), p.newBlobs, mib(p.newBytes))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
