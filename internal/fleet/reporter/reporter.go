// Package reporter is the device's side of the fleet reports: its own
// Ed25519 key, a bounded queue of signed reports in its state folder, and
// sending them to the fleet service (report_url). ferry-agent links it; it
// links nothing of the service.
//
// Files in <state>:
//
//	fleet.key          the device's private key (the 32-byte seed, mode 0600),
//	                   made on first run and never replaced
//	fleet.pub          its public key in base64, for the service's allow-list
//	reports/state.json {"next": N, "dropped": D}: the next report number (the
//	                   first is the Unix time in ms when the queue was made, so
//	                   a device whose state was wiped does not reuse numbers)
//	                   and how many reports a full queue dropped so far
//	reports/NNN….json  queued envelopes, one a file, named by report number
//
// A report is numbered (the number is written first, so a power cut never
// reuses one) and sent; if the service cannot be reached it is queued, and
// a queue is sent oldest first after the next report.
// The service stores a report once however often it is resent, so a send
// cut before its answer is simply sent again. A report the service refuses
// with a 4xx (other than 408 and 429) is dropped with a warning: resending
// it would be refused again. When the queue holds MaxQueue reports the
// oldest is dropped and counted; the count travels in every report.
package reporter

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/atomicfile"
	"github.com/ferry-ota/ferry/internal/fleet/report"
)

// DefaultMaxQueue is how many reports wait in the queue at most.
const DefaultMaxQueue = 200

// TokenHeader carries the enrollment token (the service's name for it).
const TokenHeader = "Ferry-Enroll-Token"

// ErrSend means the queue could not be sent now; it is kept.
var ErrSend = errors.New("reporter: send")

// Config configures a Reporter.
type Config struct {
	State    string // the agent's state folder
	URL      string // the service's reports URL (report_url)
	Token    string // enroll_token, sent with every report
	Device   string // the device id
	MaxQueue int    // default DefaultMaxQueue
	Client   *http.Client
	Logger   *slog.Logger
}

// Reporter queues and sends one device's reports.
type Reporter struct {
	cfg Config
	key ed25519.PrivateKey
	dir string
}

// Open loads the device key (making it on first run) and the queue.
func Open(cfg Config) (*Reporter, error) {
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Device == "" {
		return nil, errors.New("reporter: no device id: set device_id")
	}
	key, err := LoadKey(cfg.State)
	if err != nil {
		return nil, err
	}
	r := &Reporter{cfg: cfg, key: key, dir: filepath.Join(cfg.State, "reports")}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, fmt.Errorf("reporter: queue: %w", err)
	}
	return r, nil
}

// LoadKey returns the device key in state, making it on first run.
func LoadKey(state string) (ed25519.PrivateKey, error) {
	path := filepath.Join(state, "fleet.key")
	seed, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return makeKey(state, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reporter: device key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("reporter: device key %s: %d bytes, want %d: remove it to make a new key (the fleet service must then enroll the device again)", path, len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func makeKey(state, path string) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	key := ed25519.NewKeyFromSeed(seed)
	pub := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)) + "\n"
	if err := atomicfile.Write(filepath.Join(state, "fleet.pub"), []byte(pub), 0o644); err != nil {
		return nil, fmt.Errorf("reporter: device key: %w", err)
	}
	if err := atomicfile.Write(path, seed, 0o600); err != nil {
		return nil, fmt.Errorf("reporter: device key: %w", err)
	}
	return key, nil
}

// PublicKey is the device's public key.
func (r *Reporter) PublicKey() ed25519.PublicKey { return r.key.Public().(ed25519.PublicKey) }

// Report numbers and signs rep and sends it with the queue. With an empty
// queue the report goes straight out and is written to the queue only if
// the send fails, so that a device that reaches the service writes one
// small file per cycle (the next number). A failure is returned but leaves
// the queue consistent; the caller logs it and goes on.
func (r *Reporter) Report(ctx context.Context, rep *report.Report) error {
	queued, err := r.queued()
	if err != nil {
		return err
	}
	body, err := r.number(rep, queued)
	if err != nil {
		return err
	}
	if len(queued) > 0 {
		if err := r.store(rep.Number, body); err != nil {
			return err
		}
		return r.Flush(ctx)
	}
	permanent, err := r.post(ctx, body)
	switch {
	case err == nil:
		return nil
	case permanent:
		r.cfg.Logger.Warn("fleet service refused a report: dropped", "report", rep.Number, "err", err)
		return nil
	}
	if qerr := r.store(rep.Number, body); qerr != nil {
		return qerr
	}
	return fmt.Errorf("%w: %s: %v (1 report queued)", ErrSend, r.cfg.URL, err)
}

// post sends one envelope; permanent reports whether a failure is final.
func (r *Reporter) post(ctx context.Context, body []byte) (permanent bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.Token != "" {
		req.Header.Set(TokenHeader, r.cfg.Token)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return true, fmt.Errorf("refused (%s): %s", resp.Status, bytes.TrimSpace(msg))
	default:
		return false, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
}
