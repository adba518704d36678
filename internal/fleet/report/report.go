// Package report is the fleet report: the document a device sends to the
// fleet service (`ferry fleet serve`) after every update cycle, and its
// signature. It is small on purpose: ferry-agent links it (with
// internal/fleet/reporter, the device's queue), the service links it with
// internal/fleet/server and internal/fleet/store.
//
// # The report document (format 1)
//
// A report is a JSON object:
//
//	{
//	  "format": 1,
//	  "device": "pump-17",            // the device id (config device_id or /etc/machine-id):
//	                                  // 1 to 128 bytes of printable UTF-8
//	  "number": 1764478800042,        // this device's report number, rising by one, never
//	                                  // reused (the agent starts from the Unix time in ms)
//	  "time": "2026-11-30T05:00:00Z", // when the cycle ended, by the device's clock (RFC 3339)
//	  "channel": "stable",
//	  "version": "v1.4.2",            // the release running after the cycle ("" before the first)
//	  "sequence": 9,                  // its channel pointer sequence
//	  "outcome": "updated",           // up-to-date | updated | deferred | failed | rolled-back
//	  "reason": "",                   // why, for deferred, failed and rolled-back
//	  "target": "v1.4.2",             // the release the cycle looked at, when known
//	  "bytes": 52311,                 // bytes downloaded in the cycle
//	  "duration_ms": 5200,            // how long the cycle took
//	  "link": "wwan0",                // the network link, when known
//	  "battery": 71,                  // battery percent, when known (absent otherwise)
//	  "health": {"updates": 3, "rollbacks": 1, "errors": 2, "deferrals": 5, "last_error": "…"},
//	  "dropped": 0                    // reports this device dropped from its full queue so far
//	}
//
// The report travels in an envelope, the body of POST /v1/reports:
//
//	{"report": {…the document, byte for byte as signed…},
//	 "key": "<base64 Ed25519 public key>",
//	 "sig": "<base64 Ed25519 signature>"}
//
// The signature is Ed25519 by the device's own key over the bytes
// "ferry-report 1\n" followed by the report document's bytes exactly as
// they appear in the envelope (the verifier never re-encodes). Each device
// makes its key on first run and keeps it in its state folder; the service
// binds the device id to the key when the device enrolls (with the fleet's
// enrollment token, sent in the Ferry-Enroll-Token header, or because its key
// is on the service's allow-list), so a device cannot report for another.
//
// # Compatibility promise
//
// Format 1 is this document. Readers ignore fields they do not know, so
// later versions of format 1 may add optional fields; a field is never
// removed, renamed or given a new meaning without a new format number, and
// the service keeps accepting format 1 after a format 2 exists. Outcome words
// are only ever added. The signed prefix "ferry-report 1\n" names the
// signature scheme, which changes only with a new prefix.
package report

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format is the report format this package writes.
const Format = 1

// MaxSize is the largest envelope the service accepts and the device sends.
const MaxSize = 16 << 10

// Outcomes of a cycle.
const (
	UpToDate   = "up-to-date"
	Updated    = "updated"
	Deferred   = "deferred"
	Failed     = "failed"
	RolledBack = "rolled-back"
)

// sigPrefix is what the signature covers before the document.
const sigPrefix = "ferry-report 1\n"

// Sentinel errors; test with errors.Is.
var (
	// ErrMalformed means the envelope or the document is not a valid report.
	ErrMalformed = errors.New("report: malformed")
	// ErrSignature means the signature does not verify with the envelope's key.
	ErrSignature = errors.New("report: bad signature")
	// ErrTooLarge means the envelope is larger than MaxSize.
	ErrTooLarge = errors.New("report: too large")
)

// Report is one report document (format 1).
type Report struct {
	Format     int       `json:"format"`
	Device     string    `json:"device"`
	Number     uint64    `json:"number"`
	Time       time.Time `json:"time"`
	Channel    string    `json:"channel,omitempty"`
	Version    string    `json:"version"`
	Sequence   uint64    `json:"sequence"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason,omitempty"`
	Target     string    `json:"target,omitempty"`
	Bytes      int64     `json:"bytes"`
	DurationMS int64     `json:"duration_ms"`
	Link       string    `json:"link,omitempty"`
	Battery    *int      `json:"battery,omitempty"`
	Health     Health    `json:"health"`
	Dropped    uint64    `json:"dropped"`
}

// Health summarises the device's health log.
type Health struct {
	Updates   int    `json:"updates"`
	Rollbacks int    `json:"rollbacks"`
	Errors    int    `json:"errors"`
	Deferrals int    `json:"deferrals"`
	LastError string `json:"last_error,omitempty"`
}

// Envelope is the signed form of a report, as sent and queued.
type Envelope struct {
	Report json.RawMessage `json:"report"`
	Key    []byte          `json:"key"` // Ed25519 public key
	Sig    []byte          `json:"sig"`
}

// Sign encodes r, signs it with key and returns the envelope's bytes.
func Sign(r *Report, key ed25519.PrivateKey) ([]byte, error) {
	r.Format = Format
	if err := r.Check(); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("report: encode: %w", err)
	}
	env := Envelope{Report: doc, Key: key.Public().(ed25519.PublicKey), Sig: ed25519.Sign(key, signed(doc))}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("report: encode envelope: %w", err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxSize)
	}
	return b, nil
}

func signed(doc []byte) []byte {
	return append([]byte(sigPrefix), doc...)
}

// Open parses an envelope, verifies its signature with the key it carries
// and checks the document. Binding that key to the device id is the
// service's part.
func Open(data []byte) (*Report, ed25519.PublicKey, error) {
	if len(data) > MaxSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), MaxSize)
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
	}
	if len(env.Key) != ed25519.PublicKeySize || len(env.Sig) != ed25519.SignatureSize || len(env.Report) == 0 || string(env.Report) == "null" {
		return nil, nil, fmt.Errorf("%w: envelope: want report, a 32-byte key and a 64-byte sig", ErrMalformed)
	}
	key := ed25519.PublicKey(env.Key)
	if !ed25519.Verify(key, signed(env.Report), env.Sig) {
		return nil, nil, fmt.Errorf("%w: the signature does not match the report and key", ErrSignature)
	}
	r, err := Parse(env.Report)
	if err != nil {
		return nil, nil, err
	}
	return r, key, nil
}

// Parse decodes and checks a report document.
func Parse(doc []byte) (*Report, error) {
	var r Report
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the report", ErrMalformed)
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Check reports what is wrong with r, if anything.
func (r *Report) Check() error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s: %s", ErrMalformed, field, why) }
	switch {
	case r.Format != Format:
		return bad("format", fmt.Sprintf("%d: this service reads format %d", r.Format, Format))
	case !goodID(r.Device):
		return bad("device", fmt.Sprintf("%q: want 1 to 128 bytes of printable UTF-8", r.Device))
	case r.Number == 0:
		return bad("number", "want 1 or more")
	case r.Time.IsZero():
		return bad("time", "missing")
	case !knownOutcome(r.Outcome):
		return bad("outcome", fmt.Sprintf("%q: want up-to-date, updated, deferred, failed or rolled-back", r.Outcome))
	case r.Bytes < 0 || r.DurationMS < 0:
		return bad("bytes/duration_ms", "negative")
	case r.Battery != nil && (*r.Battery < 0 || *r.Battery > 100):
		return bad("battery", fmt.Sprintf("%d: want 0 to 100", *r.Battery))
	}
	return nil
}

// goodID reports whether id is 1 to 128 bytes of printable UTF-8.
func goodID(id string) bool {
	if id == "" || len(id) > 128 || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func knownOutcome(o string) bool {
	switch o {
	case UpToDate, Updated, Deferred, Failed, RolledBack:
		return true
	}
	return false
}
