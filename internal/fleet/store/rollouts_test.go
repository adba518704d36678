package store

import (
	"errors"
	"fmt"
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

func TestAdoptionCumulative(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		ctx := t.Context()
		for i, day := range []int{0, 0, 1, 3, 3, 3} {
			id := string(rune('a' + i))
			if err := s.Enroll(ctx, id, []byte("k"+id), t0); err != nil {
				t.Fatal(err)
			}
			r := rep(id, 1, "v2", 2, report.Updated, "")
			r.Time = t0.AddDate(0, 0, day)
			add(t, s, r)
			r.Number, r.Time = 2, r.Time.AddDate(0, 0, 1) // a second report of the same update counts once
			add(t, s, r)
		}
		ad, err := s.Adoptions(ctx, 5)
		if err != nil || len(ad) != 1 {
			t.Fatalf("Adoptions = %+v, %v", ad, err)
		}
		d0 := t0.Unix() / 86400
		if want := (Adoption{Release: "v2", Days: []int64{d0, d0 + 1, d0 + 3}, Devices: []int{2, 3, 6}}); !equalAdoption(ad[0], want) {
			t.Errorf("adoption = %+v, want %+v", ad[0], want)
		}
	})
}

func equalAdoption(a, b Adoption) bool {
	return a.Release == b.Release && fmt.Sprint(a.Days) == fmt.Sprint(b.Days) && fmt.Sprint(a.Devices) == fmt.Sprint(b.Devices)
}
