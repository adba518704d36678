package rollout

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	if s, err := ParseStages("1, 10,50,100"); err != nil || len(s) != 4 || s[1] != 10 {
		t.Errorf("ParseStages = %v, %v", s, err)
	}
	for _, bad := range []string{"", "1,,100", "0,100", "1,101", "x"} {
		if _, err := ParseStages(bad); err == nil {
			t.Errorf("ParseStages(%q) accepted", bad)
		}
	}
	for in, want := range map[string]int{"5%": 500, "2.5%": 250, "0.05": 500, "100%": 10000} {
		if bp, err := ParseRate(in); err != nil || bp != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, bp, err, want)
		}
	}
	for _, bad := range []string{"0%", "-1%", "101%", "five", "2"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	good := Policy{Stages: []int{1, 10, 50, 100}, Every: 6 * time.Hour, HaltBP: 500, MinReports: 20}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	if got := good.String(); got != "--stages 1,10,50,100 --every 6h0m0s --halt-on-failure-rate 5% --min-reports 20" {
		t.Errorf("String = %q", got)
	}
	for name, mut := range map[string]func(p *Policy){
		"no stages":   func(p *Policy) { p.Stages = nil },
		"not rising":  func(p *Policy) { p.Stages = []int{10, 10, 100} },
		"falling":     func(p *Policy) { p.Stages = []int{50, 10, 100} },
		"not to 100":  func(p *Policy) { p.Stages = []int{1, 50} },
		"no every":    func(p *Policy) { p.Every = 0 },
		"no rate":     func(p *Policy) { p.HaltBP = 0 },
		"min reports": func(p *Policy) { p.MinReports = 0 },
	} {
		p := good
		mut(&p)
		if err := p.Check(); err == nil {
			t.Errorf("%s: accepted %+v", name, p)
		}
	}
}

func TestEvaluate(t *testing.T) {
	p := &Policy{Stages: []int{1, 10, 50, 100}, Every: 6 * time.Hour, HaltBP: 500, MinReports: 20}
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(stage int) *State { return &State{Release: "v2", Stage: stage, StageSince: t0} }
	cases := []struct {
		name string
		s    *State
		st   Stats
		now  time.Time
		want Action
		says string
	}{
		{"no release", &State{}, Stats{}, t0, Hold, "waiting for devices"},
		{"too few reports", at(0), Stats{Tried: 19}, t0.Add(7 * time.Hour), Hold, "19 of 20 devices"},
		{"healthy, too early", at(1), Stats{Tried: 40, Failed: 1}, t0.Add(5 * time.Hour), Hold, "50% at 2026-11-30T06:00:00Z"},
		{"healthy, time", at(1), Stats{Tried: 40, Failed: 1}, t0.Add(6 * time.Hour), Advance, "from 10% to 50%"},
		{"rate reached", at(1), Stats{Tried: 40, Failed: 2}, t0.Add(time.Hour), Halt, "failure rate 5% reaches 5%"},
		{"failures, too few reports", at(0), Stats{Tried: 5, Failed: 5}, t0.Add(time.Hour), Hold, "5 of 20"},
		{"at 100", at(3), Stats{Tried: 400, Failed: 3}, t0, Done, "at 100%"},
		{"halted", &State{Release: "v2", Stage: 2, Halted: true, HaltReason: "failure rate 9%"}, Stats{}, t0, Halt, "halted at 50%: failure rate 9%"},
	}
	for _, c := range cases {
		d := Evaluate(p, c.s, c.st, c.now)
		if d.Action != c.want || !strings.Contains(d.Why, c.says) {
			t.Errorf("%s: %s %q, want %s saying %q", c.name, d.Action, d.Why, c.want, c.says)
		}
	}
}
