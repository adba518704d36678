package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
)

// now is the clock of migrations; a variable for tests.
var now = time.Now

// Device is one enrolled device and what its latest report said.
type Device struct {
	ID         string
	PublicKey  []byte
	EnrolledAt time.Time
	LastSeen   time.Time
	LastNumber uint64
	Channel    string
	Version    string
	Sequence   uint64
	Outcome    string
	Reason     string
}

// forgotten starts the stored key of a device whose key was forgotten
// (unique per device, never valid base64 of a key).
const forgotten = "forgotten:"

const deviceCols = `id, public_key, enrolled_at, last_seen, last_number, channel, version, sequence, outcome, reason`

func scanDevice(row interface{ Scan(...any) error }) (*Device, error) {
	var d Device
	var key string
	var enrolled, seen int64
	if err := row.Scan(&d.ID, &key, &enrolled, &seen, &d.LastNumber, &d.Channel, &d.Version, &d.Sequence, &d.Outcome, &d.Reason); err != nil {
		return nil, err
	}
	d.EnrolledAt, d.LastSeen = fromMS(enrolled), fromMS(seen)
	if strings.HasPrefix(key, forgotten) {
		return &d, nil // PublicKey nil: the device may enroll again
	}
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("store: device %q: stored key: %w", d.ID, err)
	}
	d.PublicKey = k
	return &d, nil
}

// Device returns the device with this id, or ErrNotFound.
func (s *Store) Device(ctx context.Context, id string) (*Device, error) {
	return s.oneDevice(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id)
}

// DeviceByKey returns the device enrolled with this public key, or
// ErrNotFound.
func (s *Store) DeviceByKey(ctx context.Context, key []byte) (*Device, error) {
	return s.oneDevice(ctx, `SELECT `+deviceCols+` FROM devices WHERE public_key = ?`, base64.StdEncoding.EncodeToString(key))
}

func (s *Store) oneDevice(ctx context.Context, query string, arg string) (*Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, s.q(query), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: device: %w", err)
	}
	return d, nil
}

// Enroll binds the device id to its public key. An id or key enrolled
// before (with anything else) is ErrConflict; enrolling the same pair again
// is not an error.
func (s *Store) Enroll(ctx context.Context, id string, key []byte, at time.Time) error {
	k := base64.StdEncoding.EncodeToString(key)
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO devices (id, public_key, enrolled_at, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		id, k, ms(at), ms(at))
	if err != nil {
		return fmt.Errorf("store: enroll %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	d, err := s.Device(ctx, id)
	if err == nil && d.ID == id && string(d.PublicKey) == string(key) {
		return nil
	}
	if err == nil && d.PublicKey == nil {
		return s.rebind(ctx, id, k, at)
	}
	return fmt.Errorf("%w: device id %q or its key is enrolled with another key or id", ErrConflict, id)
}

// rebind gives a forgotten device its new key.
func (s *Store) rebind(ctx context.Context, id, key string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE devices SET public_key = ?, enrolled_at = ? WHERE id = ? AND public_key = ?`), key, ms(at), id, forgotten+id)
	if err != nil {
		return fmt.Errorf("%w: device %q: %v", ErrConflict, id, err) // the key is another device's
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: device %q was enrolled again meanwhile", ErrConflict, id)
	}
	return nil
}

// Forget unbinds the device's key, keeping its history: its next report
// with the enrollment token (or an allow-listed key) binds a new key. For a
// device that lost its key (a wiped state folder).
func (s *Store) Forget(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE devices SET public_key = ? WHERE id = ?`), forgotten+id, id)
	if err != nil {
		return fmt.Errorf("store: forget %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: device %q", ErrNotFound, id)
	}
	return nil
}

// AddReport stores r (its signed envelope in body) for its device, which
// must be enrolled. It returns false when the report (device, number) was
// stored before: nothing changes then but the device's last-seen time.
func (s *Store) AddReport(ctx context.Context, r *report.Report, body []byte, received time.Time) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: report: %w", err)
	}
	defer tx.Rollback()
	var battery sql.NullInt64
	if r.Battery != nil {
		battery = sql.NullInt64{Int64: int64(*r.Battery), Valid: true}
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO reports (device_id, number, received_at, time, channel, version, sequence, outcome, reason, target, bytes, duration_ms, link, battery, dropped, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		r.Device, r.Number, ms(received), ms(r.Time), r.Channel, r.Version, r.Sequence, r.Outcome, r.Reason, r.Target,
		r.Bytes, r.DurationMS, r.Link, battery, r.Dropped, string(body))
	if err != nil {
		return false, fmt.Errorf("store: report %d of %q: %w", r.Number, r.Device, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: report %d of %q: %w", r.Number, r.Device, err)
	}
	if err := s.touch(ctx, tx, r, received); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: report %d of %q: %w", r.Number, r.Device, err)
	}
	return n == 1, nil
}

// touch updates the device's last-seen time, and its state when r is its
// newest report, in one statement (every SET reads the old row).
func (s *Store) touch(ctx context.Context, tx *sql.Tx, r *report.Report, received time.Time) error {
	newer := func(col string) string {
		return col + ` = CASE WHEN last_number < ? THEN ? ELSE ` + col + ` END`
	}
	cols := []string{"channel", "version", "sequence", "outcome", "reason", "last_number"}
	vals := []any{r.Channel, r.Version, r.Sequence, r.Outcome, r.Reason, r.Number}
	sets := []string{`last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END`}
	args := []any{ms(received), ms(received)}
	for i, c := range cols {
		sets = append(sets, newer(c))
		args = append(args, r.Number, vals[i])
	}
	_, err := tx.ExecContext(ctx, s.q(`UPDATE devices SET `+strings.Join(sets, ", ")+` WHERE id = ?`), append(args, r.Device)...)
	if err != nil {
		return fmt.Errorf("store: device %q: %w", r.Device, err)
	}
	return nil
}

// pruneBatch is how many reports one statement of Prune deletes, so that
// writers wait at most for one batch (a variable for tests).
var pruneBatch = 5000

// Prune deletes the reports whose time is before t, in batches, and
// returns how many. Devices and their last state stay.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM reports WHERE (device_id, number) IN
			(SELECT device_id, number FROM reports WHERE time < ? LIMIT ?)`), ms(before), pruneBatch)
		if err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		total += n
		if n < int64(pruneBatch) {
			return total, nil
		}
	}
}
