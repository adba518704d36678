package rollout

import (
	"fmt"
	"time"
)

// State is where a channel's rollout stands.
type State struct {
	Release    string    // the release being rolled out ("" until one is known)
	Stage      int       // index into Policy.Stages
	StageSince time.Time // when the stage began
	Halted     bool
	HaltReason string
}

// Stats are the devices that tried the release and how many of them failed.
type Stats struct {
	Tried, Failed int
}

// Action is what the service does next.
type Action int

// Actions.
const (
	Hold    Action = iota // stay at the stage
	Advance               // move to the next stage
	Halt                  // stop the release
	Done                  // at 100%: nothing more to do
)

// Decision is an Action and why.
type Decision struct {
	Action Action
	Why    string
	Next   time.Time // for Hold: the earliest time of the next stage
}

// Evaluate decides for state s under policy p, with the release's stats.
func Evaluate(p *Policy, s *State, st Stats, now time.Time) Decision {
	at := p.Stages[min(s.Stage, len(p.Stages)-1)]
	rate := ""
	if st.Tried > 0 {
		rate = fmt.Sprintf("; %d of %d devices that tried %s failed (%s)", st.Failed, st.Tried, s.Release, FormatBP(st.Failed*10000/st.Tried))
	}
	switch {
	case s.Release == "":
		return Decision{Action: Hold, Why: "waiting for devices to report a release on the channel"}
	case s.Halted:
		return Decision{Action: Halt, Why: fmt.Sprintf("%s halted at %d%%: %s", s.Release, at, s.HaltReason)}
	case st.Tried >= p.MinReports && st.Failed*10000 >= p.HaltBP*st.Tried:
		return Decision{Action: Halt, Why: fmt.Sprintf("halt %s at %d%%: failure rate %s reaches %s%s",
			s.Release, at, FormatBP(st.Failed*10000/st.Tried), FormatBP(p.HaltBP), rate)}
	case at == 100:
		return Decision{Action: Done, Why: fmt.Sprintf("%s is at 100%%%s", s.Release, rate)}
	case st.Tried < p.MinReports:
		return Decision{Action: Hold, Next: s.StageSince.Add(p.Every), Why: fmt.Sprintf("%s at %d%%: %d of %d devices needed have tried it%s",
			s.Release, at, st.Tried, p.MinReports, rate)}
	case now.Before(s.StageSince.Add(p.Every)):
		next := s.StageSince.Add(p.Every)
		return Decision{Action: Hold, Next: next, Why: fmt.Sprintf("%s at %d%% is healthy%s; %d%% at %s",
			s.Release, at, rate, p.Stages[s.Stage+1], next.UTC().Format(time.RFC3339))}
	}
	return Decision{Action: Advance, Why: fmt.Sprintf("advance %s from %d%% to %d%%: healthy for %s%s",
		s.Release, at, p.Stages[s.Stage+1], p.Every, rate)}
}

// String names the action.
func (a Action) String() string {
	return [...]string{"hold", "advance", "halt", "done"}[a]
}
