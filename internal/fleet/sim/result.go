package sim

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Result is what a simulation measured.
type Result struct {
	Devices  int
	Elapsed  time.Duration
	Timeline []Sample
	// Reached holds, per version, when each device first ran it (confirmed),
	// in order.
	Reached map[string][]time.Duration
	// Tried is how many devices installed each version, whether they kept
	// it or its health check rolled it back.
	Tried                         map[string]int
	Cycles                        int64
	Requests, NotModified         int64 // to the origin
	BodyBytes, WireBytes          int64 // bodies; bodies and estimated headers
	LinkFaults, PowerCuts         int64
	ReportsSent, ReportsRefused   int64
	Failures, Deferrals, Refusals map[string]int // by reason
	// ByOutcome is the origin traffic of the cycles by their outcome
	// (report.UpToDate, report.Deferred, ...).
	ByOutcome map[string]Cost
}

// Cost is the origin traffic of a kind of cycle.
type Cost struct {
	Cycles, Requests, WireBytes int64
	MaxRequests                 int64 // in one cycle
}

// Sample is the versions across the fleet at one point in time.
type Sample struct {
	At     time.Duration
	Counts map[string]int // devices per version; "" is none yet
}

func newResult(n int) Result {
	return Result{Devices: n, Reached: map[string][]time.Duration{}, Failures: map[string]int{}, Deferrals: map[string]int{}, Refusals: map[string]int{}, ByOutcome: map[string]Cost{}}
}

func (r *Result) clone() *Result {
	c := *r
	c.Timeline = slices.Clone(r.Timeline)
	c.Reached = maps.Clone(r.Reached)
	c.Failures, c.Deferrals, c.Refusals = maps.Clone(r.Failures), maps.Clone(r.Deferrals), maps.Clone(r.Refusals)
	c.ByOutcome = maps.Clone(r.ByOutcome)
	return &c
}

func (r *Result) sample(at time.Duration, counts map[string]int) {
	c := map[string]int{}
	for v, n := range counts {
		if n > 0 {
			c[v] = n
		}
	}
	r.Timeline = append(r.Timeline, Sample{At: at, Counts: c})
}

func (r *Result) reach(version string, at time.Duration) {
	r.Reached[version] = append(r.Reached[version], at)
}

// TimeTo returns when p percent of the fleet had run version, and whether
// it did.
func (r *Result) TimeTo(version string, p int) (time.Duration, bool) {
	k := (r.Devices*p + 99) / 100
	times := r.Reached[version]
	if k == 0 || len(times) < k {
		return 0, false
	}
	return times[k-1], true
}

// PerDevice returns x divided by the number of devices.
func (r *Result) PerDevice(x int64) float64 { return float64(x) / float64(max(r.Devices, 1)) }

var digits = regexp.MustCompile(`[0-9]+`)

// normalize groups reasons: numbers become "N", the text is cut at 120
// characters.
func normalize(s string) string {
	return trim(digits.ReplaceAllString(s, "N"), 120)
}

// Print writes the figures for people.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%d devices, %s, %d cycles\n", r.Devices, r.Elapsed.Round(time.Second), r.Cycles)
	versions := slices.Sorted(maps.Keys(r.Reached))
	tried := slices.Sorted(maps.Keys(r.Tried))
	fmt.Fprintf(w, "\ndevices running each version over time:\n%8s", "t")
	for _, v := range versions {
		fmt.Fprintf(w, " %10s", v)
	}
	fmt.Fprintf(w, " %10s\n", "(none)")
	for _, s := range r.Timeline {
		fmt.Fprintf(w, "%8s", s.At.Round(time.Second))
		for _, v := range versions {
			fmt.Fprintf(w, " %10d", s.Counts[v])
		}
		fmt.Fprintf(w, " %10d\n", s.Counts[""])
	}
	fmt.Fprintln(w, "\ntime to reach the fleet (from the start of the run):")
	for _, v := range versions {
		fmt.Fprintf(w, "  %s:", v)
		for _, p := range []int{50, 95, 100} {
			if t, ok := r.TimeTo(v, p); ok {
				fmt.Fprintf(w, " %d%% %s", p, t.Round(100*time.Millisecond))
			} else {
				fmt.Fprintf(w, " %d%% not reached", p)
			}
		}
		fmt.Fprintf(w, " (%d devices ran it)\n", len(r.Reached[v]))
	}
	for _, v := range tried {
		fmt.Fprintf(w, "  %s: installed by %d devices (%.1f%%), kept by %d\n", v, r.Tried[v], 100*ratio(int64(r.Tried[v]), int64(r.Devices)), len(r.Reached[v]))
	}
	fmt.Fprintf(w, "\norigin: %d requests (%.1f per device, %.2f per cycle; %d were 304), %d body bytes (%.0f per device), ~%d bytes with headers (%.0f per device, %.0f per cycle)\n",
		r.Requests, r.PerDevice(r.Requests), ratio(r.Requests, r.Cycles), r.NotModified, r.BodyBytes, r.PerDevice(r.BodyBytes),
		r.WireBytes, r.PerDevice(r.WireBytes), ratio(r.WireBytes, r.Cycles))
	fmt.Fprintln(w, "origin cost of a cycle, by outcome:")
	for _, k := range slices.Sorted(maps.Keys(r.ByOutcome)) {
		c := r.ByOutcome[k]
		fmt.Fprintf(w, "  %-12s %7d cycles, %.2f requests each (at most %d), ~%.0f bytes each\n", k, c.Cycles, ratio(c.Requests, c.Cycles), c.MaxRequests, ratio(c.WireBytes, c.Cycles))
	}
	fmt.Fprintf(w, "link faults %d, power cuts %d\n", r.LinkFaults, r.PowerCuts)
	fmt.Fprintf(w, "reports: %d sent, %d refused\n", r.ReportsSent, r.ReportsRefused)
	printReasons(w, "failures by reason", r.Failures)
	printReasons(w, "deferrals by reason", r.Deferrals)
	printReasons(w, "reports refused by reason", r.Refusals)
}

func ratio(a, b int64) float64 { return float64(a) / float64(max(b, 1)) }

func printReasons(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return m[b] - m[a] + boolInt(m[a] == m[b])*strings.Compare(a, b) })
	for _, k := range keys {
		fmt.Fprintf(w, "  %6d  %s\n", m[k], k)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
