package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/rollout"
)

// Rollout is a channel's stored policy and state.
type Rollout struct {
	Channel   string
	Policy    rollout.Policy
	State     rollout.State
	UpdatedAt time.Time
}

// SetRollout stores (replaces) the channel's policy and state.
func (s *Store) SetRollout(ctx context.Context, r *Rollout) error {
	if err := r.Policy.Check(); err != nil {
		return err
	}
	stages := make([]string, len(r.Policy.Stages))
	for i, n := range r.Policy.Stages {
		stages[i] = strconv.Itoa(n)
	}
	halted := 0
	if r.State.Halted {
		halted = 1
	}
	args := []any{strings.Join(stages, ","), int64(r.Policy.Every / time.Second), r.Policy.HaltBP, r.Policy.MinReports,
		r.State.Release, r.State.Stage, ms(r.State.StageSince), halted, r.State.HaltReason, ms(r.UpdatedAt)}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO rollouts (channel, stages, every_sec, halt_bp, min_reports, release, stage, stage_since, halted, halt_reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel) DO UPDATE SET stages = excluded.stages, every_sec = excluded.every_sec, halt_bp = excluded.halt_bp,
			min_reports = excluded.min_reports, release = excluded.release, stage = excluded.stage, stage_since = excluded.stage_since,
			halted = excluded.halted, halt_reason = excluded.halt_reason, updated_at = excluded.updated_at`), append([]any{r.Channel}, args...)...)
	if err != nil {
		return fmt.Errorf("store: rollout of %q: %w", r.Channel, err)
	}
	return nil
}

// Rollout returns the channel's policy and state, or ErrNotFound.
func (s *Store) Rollout(ctx context.Context, channel string) (*Rollout, error) {
	r := &Rollout{Channel: channel}
	var stages string
	var every, since, updated int64
	var halted int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT stages, every_sec, halt_bp, min_reports, release, stage, stage_since, halted, halt_reason, updated_at
		FROM rollouts WHERE channel = ?`), channel).Scan(&stages, &every, &r.Policy.HaltBP, &r.Policy.MinReports,
		&r.State.Release, &r.State.Stage, &since, &halted, &r.State.HaltReason, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: rollout of %q: %w", channel, err)
	}
	if r.Policy.Stages, err = rollout.ParseStages(stages); err != nil {
		return nil, fmt.Errorf("store: rollout of %q: %w", channel, err)
	}
	r.Policy.Every = time.Duration(every) * time.Second
	r.State.StageSince, r.State.Halted, r.UpdatedAt = fromMS(since), halted != 0, fromMS(updated)
	return r, nil
}

// ReleaseStats counts the devices on the channel that tried version (a
// cycle that updated to it, failed on it or rolled it back) and how many of
// them failed or rolled it back.
func (s *Store) ReleaseStats(ctx context.Context, channel, version string) (rollout.Stats, error) {
	var st rollout.Stats
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT device_id),
			COUNT(DISTINCT CASE WHEN outcome <> 'updated' THEN device_id END)
		FROM reports WHERE channel = ? AND target = ? AND outcome IN ('updated', 'failed', 'rolled-back')`), channel, version).Scan(&st.Tried, &st.Failed)
	if err != nil {
		return st, fmt.Errorf("store: stats of %s %s: %w", channel, version, err)
	}
	return st, nil
}

// StartRollout stores a new policy for the channel, at its first stage,
// for release (or, when it is "", the newest release devices report on the
// channel; the service takes the next one if none is known yet).
func (s *Store) StartRollout(ctx context.Context, channel string, p rollout.Policy, release string, now time.Time) (*Rollout, error) {
	if release == "" {
		chans, err := s.Channels(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range chans {
			if c.Name == channel {
				release = c.Version
			}
		}
	}
	r := &Rollout{Channel: channel, Policy: p, State: rollout.State{Release: release, StageSince: now}, UpdatedAt: now}
	return r, s.SetRollout(ctx, r)
}

// RolloutStatus is the channel's rollout, the release's stats and the
// decision the service takes now.
func (s *Store) RolloutStatus(ctx context.Context, channel string, now time.Time) (*Rollout, rollout.Stats, rollout.Decision, error) {
	r, err := s.Rollout(ctx, channel)
	if err != nil {
		return nil, rollout.Stats{}, rollout.Decision{}, err
	}
	var st rollout.Stats
	if r.State.Release != "" {
		if st, err = s.ReleaseStats(ctx, channel, r.State.Release); err != nil {
			return nil, st, rollout.Decision{}, err
		}
	}
	return r, st, rollout.Evaluate(&r.Policy, &r.State, st, now), nil
}

// RolloutChannels returns the channels that have a staged rollout, sorted.
func (s *Store) RolloutChannels(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT channel FROM rollouts ORDER BY channel`)
	if err != nil {
		return nil, fmt.Errorf("store: rollout channels: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("store: rollout channels: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
