// Package store is the fleet service's database: devices, their reports and
// (later) rollouts, behind database/sql. A DB that starts with postgres:// or
// postgresql:// is a PostgreSQL server (through pgx), so that several service
// instances can share it behind a load balancer; anything else is the path
// of an SQLite file (through modernc.org/sqlite, pure Go, so `ferry` stays
// one static binary).
//
// There is one schema for both. Open applies the migrations the database
// has not seen yet, in order, each in its own transaction, and records them
// in schema_migrations; on PostgreSQL an advisory lock makes instances that
// start together apply each migration once. A migration is never edited
// once released: a change is a new migration at the end of the list.
//
// Times are stored as Unix milliseconds (BIGINT) so that both engines
// compare and sort them the same way. A report is stored once per (device,
// number): a resent report is accepted and changes nothing but the device's
// last-seen time.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound means no such device.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means the device id or key is already enrolled otherwise.
	ErrConflict = errors.New("store: already enrolled")
)

// Store is an open fleet database.
type Store struct {
	db       *sql.DB
	postgres bool
}

// IsPostgres reports whether dsn names a PostgreSQL server.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn and migrates it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{postgres: IsPostgres(dsn)}
	var err error
	if s.postgres {
		s.db, err = sql.Open("pgx", dsn)
	} else {
		s.db, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", redact(dsn), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// openSQLite opens the file with one connection: SQLite has one writer,
// and one connection never waits on itself. WAL with synchronous=FULL: a
// report the service answered 2xx for (and the device then forgot) survives
// a power cut of the service.
func openSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("empty database path")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// redact hides a password in a URL for error messages.
func redact(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at > 0 && IsPostgres(dsn) {
		return dsn[:strings.Index(dsn, "://")+3] + "…" + dsn[at:]
	}
	return dsn
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites the ? placeholders of query for the engine: $1, $2, … on
// PostgreSQL. Queries hold no literal question marks.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
