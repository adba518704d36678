package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; each is applied once. Never edit one
// that has been released: append a new one.
var migrations = []string{
	// 1: devices and reports.
	`CREATE TABLE devices (
		id          TEXT PRIMARY KEY,
		public_key  TEXT NOT NULL UNIQUE,
		enrolled_at BIGINT NOT NULL,
		last_seen   BIGINT NOT NULL,
		last_number BIGINT NOT NULL DEFAULT 0,
		channel     TEXT NOT NULL DEFAULT '',
		version     TEXT NOT NULL DEFAULT '',
		sequence    BIGINT NOT NULL DEFAULT 0,
		outcome     TEXT NOT NULL DEFAULT '',
		reason      TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE reports (
		device_id   TEXT NOT NULL REFERENCES devices(id),
		number      BIGINT NOT NULL,
		received_at BIGINT NOT NULL,
		time        BIGINT NOT NULL,
		channel     TEXT NOT NULL,
		version     TEXT NOT NULL,
		sequence    BIGINT NOT NULL,
		outcome     TEXT NOT NULL,
		reason      TEXT NOT NULL,
		target      TEXT NOT NULL,
		bytes       BIGINT NOT NULL,
		duration_ms BIGINT NOT NULL,
		link        TEXT NOT NULL,
		battery     INTEGER,
		dropped     BIGINT NOT NULL,
		body        TEXT NOT NULL,
		PRIMARY KEY (device_id, number)
	);
	CREATE INDEX reports_outcome ON reports (outcome, reason);
	CREATE INDEX devices_last_seen ON devices (last_seen);`,
	// 2: staged-rollout policies and where each stands.
	`CREATE TABLE rollouts (
		channel     TEXT PRIMARY KEY,
		stages      TEXT NOT NULL,
		every_sec   BIGINT NOT NULL,
		halt_bp     INTEGER NOT NULL,
		min_reports INTEGER NOT NULL,
		release     TEXT NOT NULL,
		stage       INTEGER NOT NULL,
		stage_since BIGINT NOT NULL,
		halted      INTEGER NOT NULL,
		halt_reason TEXT NOT NULL,
		updated_at  BIGINT NOT NULL
	);
	CREATE INDEX reports_target ON reports (channel, target, outcome);
	CREATE INDEX devices_channel ON devices (channel, sequence);
	CREATE INDEX devices_version ON devices (version);
	CREATE INDEX reports_time ON reports (time);`,
}

// migrate applies the migrations the database lacks.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.postgres {
		// One instance migrates at a time; the others then find it done.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7316001)`); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7316001)`)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var have int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("store: the database has schema version %d, newer than this ferry (%d): upgrade ferry", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		if err := s.apply(ctx, conn, v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, v int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %d: %w", v, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
		return fmt.Errorf("store: migration %d: %w", v, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, ms(now())); err != nil {
		return fmt.Errorf("store: migration %d: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migration %d: %w", v, err)
	}
	return nil
}
