package origin

import (
	"testing"
	"time"
)

func TestRetrierWaits(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	transient := &StatusError{Code: 503, Status: "503 Service Unavailable"}
	for range 50 { // the jitter is random: check the bounds many times
		r := newRetrier(RetryPolicy{Retries: 6, Initial: 100 * ms, Max: 400 * ms})
		for i, bound := range [][2]time.Duration{
			{50 * ms, 150 * ms}, {100 * ms, 300 * ms}, {200 * ms, 400 * ms}, {200 * ms, 400 * ms},
		} {
			d, ok := r.wait(transient)
			if !ok || d < bound[0] || d > bound[1] {
				t.Fatalf("wait %d = %s, %v; want in [%s, %s]", i+1, d, ok, bound[0], bound[1])
			}
		}
		if d, ok := r.wait(&RetryAfterError{Status: 429, Wait: time.Hour}); !ok || d != 400*ms {
			t.Fatalf("wait after Retry-After 1h = %s, %v; want the cap 400ms", d, ok)
		}
		if _, ok := r.wait(transient); !ok {
			t.Fatal("6th retry refused, want allowed")
		}
		if _, ok := r.wait(transient); ok {
			t.Fatal("7th retry allowed, want refused (Retries 6)")
		}
		r.progress()
		if d, ok := r.wait(transient); !ok || d > 150*ms {
			t.Fatalf("wait after progress = %s, %v; want a fresh start", d, ok)
		}
	}
}
