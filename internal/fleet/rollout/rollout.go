// Package rollout is the staged-rollout policy of a channel and the
// decision the fleet service takes from the devices' reports: advance to the
// next stage, hold, or halt.
//
// A policy (`ferry rollout --channel C --stages 1,10,50,100 --every 6h
// --halt-on-failure-rate 5% --min-reports 20`) names the rollout
// percentages in order, how long each stage lasts at least, the failure rate
// that halts the release and how many devices must have tried the release
// before the rate counts. Among the devices that tried the release (a report
// of the cycle that took or tried to take it: updated, failed or
// rolled-back), those that failed or rolled it back are the failures.
//
// Evaluate is pure: the service calls it with the stored state and the
// counts from the store, and acts on the decision (package decider: it
// signs the channel's rollout document with the rollout key); `ferry
// rollout --status` shows the decision.
package rollout

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrPolicy wraps every mistake in a policy.
var ErrPolicy = errors.New("rollout: policy")

// Policy is a channel's staged-rollout policy.
type Policy struct {
	Stages     []int         // rollout percentages, rising, the last 100
	Every      time.Duration // the least time at each stage
	HaltBP     int           // the failure rate that halts, in basis points (5% = 500)
	MinReports int           // devices that tried the release before a decision
}

// ParseStages parses "1,10,50,100".
func ParseStages(s string) ([]int, error) {
	var stages []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("%w: --stages %q: %q is not a percentage from 1 to 100", ErrPolicy, s, f)
		}
		stages = append(stages, n)
	}
	return stages, nil
}

// ParseRate parses "5%", "2.5%" or "0.05" into basis points.
func ParseRate(s string) (int, error) {
	t := strings.TrimSpace(s)
	scale := 10000.0
	if strings.HasSuffix(t, "%") {
		t, scale = strings.TrimSuffix(t, "%"), 100
	}
	f, err := strconv.ParseFloat(t, 64)
	bp := int(f*scale + 0.5)
	if err != nil || f <= 0 || bp > 10000 {
		return 0, fmt.Errorf("%w: --halt-on-failure-rate %q: want a rate like 5%% (above 0, at most 100%%)", ErrPolicy, s)
	}
	return bp, nil
}

// Check reports what is wrong with p.
func (p *Policy) Check() error {
	switch {
	case len(p.Stages) == 0:
		return fmt.Errorf("%w: no stages", ErrPolicy)
	case !rising(p.Stages):
		return fmt.Errorf("%w: stages %v must rise, each from 1 to 100", ErrPolicy, p.Stages)
	case p.Stages[len(p.Stages)-1] != 100:
		return fmt.Errorf("%w: stages %v must end at 100", ErrPolicy, p.Stages)
	case p.Every <= 0:
		return fmt.Errorf("%w: --every must be a positive duration like 6h", ErrPolicy)
	case p.HaltBP <= 0 || p.HaltBP > 10000:
		return fmt.Errorf("%w: --halt-on-failure-rate must be above 0 and at most 100%%", ErrPolicy)
	case p.MinReports < 1:
		return fmt.Errorf("%w: --min-reports must be at least 1", ErrPolicy)
	}
	return nil
}

func rising(stages []int) bool {
	for i, n := range stages {
		if n < 1 || n > 100 || (i > 0 && n <= stages[i-1]) {
			return false
		}
	}
	return true
}

// FormatBP formats basis points as a percentage.
func FormatBP(bp int) string {
	return strconv.FormatFloat(float64(bp)/100, 'f', -1, 64) + "%"
}

// String is the policy as the flags that make it.
func (p *Policy) String() string {
	s := make([]string, len(p.Stages))
	for i, n := range p.Stages {
		s[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("--stages %s --every %s --halt-on-failure-rate %s --min-reports %d", strings.Join(s, ","), p.Every, FormatBP(p.HaltBP), p.MinReports)
}
