package store

import (
	"errors"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/rollout"
)

func TestRollouts(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		ctx := t.Context()
		if _, err := s.Rollout(ctx, "stable"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Rollout before any: %v, want ErrNotFound", err)
		}
		r := &Rollout{Channel: "stable", Policy: rollout.Policy{Stages: []int{1, 10, 100}, Every: 6 * time.Hour, HaltBP: 250, MinReports: 20},
			State: rollout.State{Release: "v2", Stage: 1, StageSince: t0}, UpdatedAt: t0}
		if err := s.SetRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
		r.State.Halted, r.State.HaltReason = true, "failure rate 9%"
		if err := s.SetRollout(ctx, r); err != nil {
			t.Fatalf("replacing: %v", err)
		}
		got, err := s.Rollout(ctx, "stable")
		if err != nil {
			t.Fatal(err)
		}
		if got.Policy.String() != r.Policy.String() || got.State != r.State || !got.UpdatedAt.Equal(t0) {
			t.Errorf("Rollout = %+v, want %+v", got, r)
		}
		if err := s.SetRollout(ctx, &Rollout{Channel: "x"}); !errors.Is(err, rollout.ErrPolicy) {
			t.Errorf("SetRollout of an empty policy: %v", err)
		}
		for i, o := range []string{report.Updated, report.Updated, report.RolledBack, report.UpToDate} {
			id := string(rune('a' + i))
			if err := s.Enroll(ctx, id, []byte("k"+id), t0); err != nil {
				t.Fatal(err)
			}
			rp := rep(id, 1, "v2", 2, o, "")
			rp.Target = "v2"
			add(t, s, rp)
		}
		st, err := s.ReleaseStats(ctx, "stable", "v2")
		if err != nil || st != (rollout.Stats{Tried: 3, Failed: 1}) {
			t.Errorf("ReleaseStats = %+v, %v; want 3 tried, 1 failed", st, err)
		}
	})
}
