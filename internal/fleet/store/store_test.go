package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/pgtest"
	"github.com/ferry-ota/ferry/internal/fleet/report"
)

// backends runs f against SQLite and against a real PostgreSQL.
func backends(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "fleet.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, pgtest.Start(t)) })
}

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)

func rep(dev string, n uint64, version string, seq uint64, outcome, reason string) *report.Report {
	return &report.Report{Format: 1, Device: dev, Number: n, Time: t0.Add(time.Duration(n) * time.Minute), Channel: "stable",
		Version: version, Sequence: seq, Outcome: outcome, Reason: reason, Bytes: 100, Target: version}
}

func add(t *testing.T, s *Store, r *report.Report) bool {
	t.Helper()
	stored, err := s.AddReport(t.Context(), r, []byte(`{}`), r.Time)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestStore(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		ctx := t.Context()
		for _, id := range []string{"a", "b", "c"} {
			if err := s.Enroll(ctx, id, []byte("key-"+id), t0); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("enroll", func(t *testing.T) { testEnroll(t, s) })
		t.Run("reports", func(t *testing.T) { testReports(t, s) })
		t.Run("queries", func(t *testing.T) { testQueries(t, s) })
	})
}

func testEnroll(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.Enroll(ctx, "a", []byte("key-a"), t0); err != nil {
		t.Errorf("enrolling the same pair again: %v", err)
	}
	if err := s.Enroll(ctx, "a", []byte("other"), t0); !errors.Is(err, ErrConflict) {
		t.Errorf("id a with another key: %v, want ErrConflict", err)
	}
	if err := s.Enroll(ctx, "z", []byte("key-a"), t0); !errors.Is(err, ErrConflict) {
		t.Errorf("key of a for id z: %v, want ErrConflict", err)
	}
	d, err := s.DeviceByKey(ctx, []byte("key-b"))
	if err != nil || d.ID != "b" {
		t.Errorf("DeviceByKey(key-b) = %+v, %v", d, err)
	}
	if _, err := s.Device(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Device(nope): %v, want ErrNotFound", err)
	}
}

func testReports(t *testing.T, s *Store) {
	if !add(t, s, rep("a", 1, "v1", 1, report.Updated, "")) {
		t.Fatal("first report not stored")
	}
	if add(t, s, rep("a", 1, "v1", 1, report.Updated, "")) {
		t.Error("a resent report was stored twice")
	}
	add(t, s, rep("a", 3, "v2", 2, report.RolledBack, "health check: exit 1"))
	add(t, s, rep("a", 2, "v9", 9, report.UpToDate, "")) // late: older than number 3
	add(t, s, rep("b", 1, "v2", 2, report.Updated, ""))
	add(t, s, rep("c", 1, "v1", 1, report.Failed, "fetch: connection reset"))
	add(t, s, rep("c", 2, "v1", 1, report.Failed, "fetch: connection reset"))
	d, err := s.Device(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if d.LastNumber != 3 || d.Version != "v2" || d.Outcome != report.RolledBack {
		t.Errorf("device a = %+v: want the state of report 3 (a late report 2 must not win)", d)
	}
	if want := t0.Add(3 * time.Minute); !d.LastSeen.Equal(want) {
		t.Errorf("last seen %v, want %v (the latest receipt)", d.LastSeen, want)
	}
	h, err := s.History(t.Context(), "a", 10)
	if err != nil || len(h) != 3 || h[0].Number != 3 || h[2].Number != 1 {
		t.Errorf("history of a = %+v, %v: want reports 3, 2, 1", h, err)
	}
}

func testQueries(t *testing.T, s *Store) {
	ctx := t.Context()
	v, err := s.Versions(ctx)
	if err != nil || len(v) != 2 || v[0] != (Count{"v2", 2}) || v[1] != (Count{"v1", 1}) {
		t.Errorf("Versions = %+v, %v", v, err)
	}
	f, err := s.Failures(ctx, 10)
	if err != nil || len(f) != 2 {
		t.Fatalf("Failures = %+v, %v", f, err)
	}
	if f[0].Reason != "fetch: connection reset" || f[0].Reports != 2 || f[0].Devices != 1 || f[1].Outcome != report.RolledBack {
		t.Errorf("Failures = %+v", f)
	}
	c, err := s.Channels(ctx)
	if err != nil || len(c) != 1 || c[0].Version != "v2" || c[0].Sequence != 2 || c[0].Devices != 3 || c[0].OnLatest != 2 {
		t.Errorf("Channels = %+v, %v", c, err)
	}
	ad, err := s.Adoptions(ctx, 5)
	if err != nil || len(ad) != 2 {
		t.Fatalf("Adoptions = %+v, %v", ad, err)
	}
	for _, a := range ad {
		if len(a.Devices) != 1 || a.Devices[0] != 1 || a.Days[0] != t0.Unix()/86400 {
			t.Errorf("adoption of %s = %+v: want 1 device on %s (v1: a; v2: b, a rolled it back)", a.Release, a, t0.Format(time.DateOnly))
		}
	}
	for filter, want := range map[string]int{"": 3, "V2": 2, "fail": 1, "%": 0, "rolled": 1} {
		d, err := s.Devices(ctx, filter, 10)
		if err != nil || len(d) != want {
			t.Errorf("Devices(%q) = %d devices, %v; want %d", filter, len(d), err, want)
		}
	}
}

// TestMigrateTwice: a second Open (another instance) finds the schema done.
func TestMigrateTwice(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		a := open(t, dsn)
		if err := a.Enroll(t.Context(), "a", []byte("k"), t0); err != nil {
			t.Fatal(err)
		}
		b := open(t, dsn)
		if _, err := b.Device(t.Context(), "a"); err != nil {
			t.Errorf("second instance: %v", err)
		}
	})
}

func TestNewerSchema(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "fleet.db")
	s := open(t, dsn)
	if _, err := s.db.ExecContext(context.Background(), `INSERT INTO schema_migrations VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), dsn); err == nil {
		t.Error("opened a database with a newer schema")
	}
}

// TestMigrateTogether: instances that start at once against one PostgreSQL
// apply each migration once (the advisory lock).
func TestMigrateTogether(t *testing.T) {
	dsn := pgtest.Start(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(t.Context(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("instance: %v", err)
		}
	}
	s := open(t, dsn)
	var n int
	if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Errorf("%d migrations recorded (%v), want %d", n, err, len(migrations))
	}
}

// TestForget: a device that lost its key enrolls again, keeping its history.
func TestForget(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		ctx := t.Context()
		for _, id := range []string{"a", "b"} {
			if err := s.Enroll(ctx, id, []byte("key-"+id), t0); err != nil {
				t.Fatal(err)
			}
		}
		add(t, s, rep("a", 1, "v1", 1, report.Updated, ""))
		if err := s.Enroll(ctx, "a", []byte("new"), t0); !errors.Is(err, ErrConflict) {
			t.Fatalf("new key before Forget: %v, want ErrConflict", err)
		}
		if err := s.Forget(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Forget(ctx, "zz"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Forget(zz): %v, want ErrNotFound", err)
		}
		if err := s.Enroll(ctx, "a", []byte("key-b"), t0); !errors.Is(err, ErrConflict) {
			t.Errorf("forgotten a taking b's key: %v, want ErrConflict", err)
		}
		if err := s.Enroll(ctx, "a", []byte("new"), t0); err != nil {
			t.Fatalf("new key after Forget: %v", err)
		}
		d, err := s.DeviceByKey(ctx, []byte("new"))
		if err != nil || d.ID != "a" || d.LastNumber != 1 {
			t.Errorf("device with the new key = %+v, %v: want a, its history kept", d, err)
		}
		if _, err := s.DeviceByKey(ctx, []byte("key-a")); !errors.Is(err, ErrNotFound) {
			t.Errorf("the old key still names a device: %v", err)
		}
	})
}

func TestPrune(t *testing.T) {
	defer func(n int) { pruneBatch = n }(pruneBatch)
	pruneBatch = 1 // batches of one: Prune must loop
	backends(t, func(t *testing.T, dsn string) {
		s := open(t, dsn)
		if err := s.Enroll(t.Context(), "a", []byte("k"), t0); err != nil {
			t.Fatal(err)
		}
		for n := uint64(1); n <= 5; n++ {
			add(t, s, rep("a", n, "v1", 1, report.UpToDate, "")) // at t0 + n minutes
		}
		got, err := s.Prune(t.Context(), t0.Add(3*time.Minute))
		if err != nil || got != 2 {
			t.Errorf("Prune = %d, %v; want 2 (reports 1 and 2)", got, err)
		}
		h, _ := s.History(t.Context(), "a", 10)
		if len(h) != 3 || h[2].Number != 3 {
			t.Errorf("history after Prune: %+v", h)
		}
		if d, err := s.Device(t.Context(), "a"); err != nil || d.LastNumber != 5 {
			t.Errorf("device after Prune: %+v, %v", d, err)
		}
	})
}
