package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Count is a number of devices or reports with one value.
type Count struct {
	Key string
	N   int
}

// Channel is a channel as the fleet reports it: the newest release devices
// run on it (highest sequence) and how many devices run that release.
type Channel struct {
	Name     string
	Version  string
	Sequence uint64
	Devices  int // devices reporting on the channel
	OnLatest int // of which on Version
}

// Failure is a group of failed or rolled-back reports with one reason.
type Failure struct {
	Outcome string
	Reason  string
	Reports int
	Devices int
	Last    time.Time
}

// Entry is one stored report, for a device's history.
type Entry struct {
	Number     uint64
	Time       time.Time
	Received   time.Time
	Channel    string
	Version    string
	Sequence   uint64
	Outcome    string
	Reason     string
	Target     string
	Bytes      int64
	DurationMS int64
	Link       string
	Battery    sql.NullInt64
	Dropped    uint64 // reports the device's full queue had dropped by then
}

// Versions counts devices by the version they run, most devices first.
func (s *Store) Versions(ctx context.Context) ([]Count, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, COUNT(*) AS n FROM devices GROUP BY version ORDER BY n DESC, version`)
	if err != nil {
		return nil, fmt.Errorf("store: versions: %w", err)
	}
	return collect(rows, func(c *Count) []any { return []any{&c.Key, &c.N} })
}

// Channels lists the channels devices report, with their newest release.
func (s *Store) Channels(ctx context.Context) ([]Channel, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.channel,
			(SELECT MAX(v.version) FROM devices v WHERE v.channel = m.channel AND v.sequence = m.seq), m.seq, m.n,
			(SELECT COUNT(*) FROM devices v WHERE v.channel = m.channel AND v.sequence = m.seq)
		FROM (SELECT channel, MAX(sequence) AS seq, COUNT(*) AS n FROM devices WHERE channel <> '' GROUP BY channel) m
		ORDER BY m.channel`)
	if err != nil {
		return nil, fmt.Errorf("store: channels: %w", err)
	}
	return collect(rows, func(c *Channel) []any { return []any{&c.Name, &c.Version, &c.Sequence, &c.Devices, &c.OnLatest} })
}

// Failures groups failed and rolled-back reports by outcome and reason,
// most reports first, at most limit groups.
func (s *Store) Failures(ctx context.Context, limit int) ([]Failure, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT outcome, reason, COUNT(*) AS n, COUNT(DISTINCT device_id), MAX(time)
		FROM reports WHERE outcome IN ('failed', 'rolled-back') GROUP BY outcome, reason ORDER BY n DESC, outcome, reason LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("store: failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var last int64
		if err := rows.Scan(&f.Outcome, &f.Reason, &f.Reports, &f.Devices, &last); err != nil {
			return nil, fmt.Errorf("store: failures: %w", err)
		}
		f.Last = fromMS(last)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Devices lists devices whose id, version, channel or outcome contains
// filter (all when it is empty), most recently seen first, at most limit.
func (s *Store) Devices(ctx context.Context, filter string, limit int) ([]Device, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(filter)) + "%"
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices
		WHERE LOWER(id) LIKE ? ESCAPE '\' OR LOWER(version) LIKE ? ESCAPE '\' OR LOWER(channel) LIKE ? ESCAPE '\' OR outcome LIKE ? ESCAPE '\'
		ORDER BY last_seen DESC, id LIMIT ?`), like, like, like, like, limit)
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("store: devices: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// History returns a device's reports, newest first, at most limit.
func (s *Store) History(ctx context.Context, device string, limit int) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT number, time, received_at, channel, version, sequence, outcome, reason, target, bytes, duration_ms, link, battery, dropped
		FROM reports WHERE device_id = ? ORDER BY number DESC LIMIT ?`), device, limit)
	if err != nil {
		return nil, fmt.Errorf("store: history of %q: %w", device, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at, rec int64
		if err := rows.Scan(&e.Number, &at, &rec, &e.Channel, &e.Version, &e.Sequence, &e.Outcome, &e.Reason, &e.Target, &e.Bytes, &e.DurationMS, &e.Link, &e.Battery, &e.Dropped); err != nil {
			return nil, fmt.Errorf("store: history of %q: %w", device, err)
		}
		e.Time, e.Received = fromMS(at), fromMS(rec)
		out = append(out, e)
	}
	return out, rows.Err()
}

// collect scans every row with the pointers fields returns for a new T.
func collect[T any](rows *sql.Rows, fields func(*T) []any) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(fields(&v)...); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// Adoption is how many devices had updated to a release by the end of
// each day (days since the Unix epoch, UTC), one point per day with news.
type Adoption struct {
	Release string
	Days    []int64
	Devices []int // cumulative
}

// Adoptions returns the adoption of the releases devices updated to,
// newest first, at most limit releases.
func (s *Store) Adoptions(ctx context.Context, limit int) ([]Adoption, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT target, first_day, COUNT(*) FROM (
			SELECT device_id, target, MIN(time) / 86400000 AS first_day FROM reports
			WHERE outcome = 'updated' AND target <> '' GROUP BY device_id, target) f
		GROUP BY target, first_day ORDER BY target, first_day`)
	if err != nil {
		return nil, fmt.Errorf("store: adoption: %w", err)
	}
	defer rows.Close()
	var out []Adoption
	for rows.Next() {
		var rel string
		var day int64
		var n int
		if err := rows.Scan(&rel, &day, &n); err != nil {
			return nil, fmt.Errorf("store: adoption: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Release != rel {
			out = append(out, Adoption{Release: rel})
		}
		a := &out[len(out)-1]
		if k := len(a.Devices); k > 0 {
			n += a.Devices[k-1]
		}
		a.Days, a.Devices = append(a.Days, day), append(a.Devices, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: adoption: %w", err)
	}
	// Newest first: by the day each release first appeared.
	slices.SortStableFunc(out, func(a, b Adoption) int { return cmp.Compare(b.Days[0], a.Days[0]) })
	return out[:min(limit, len(out))], nil
}
