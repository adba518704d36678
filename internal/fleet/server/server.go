// Package server is the fleet service behind `ferry fleet serve`: it takes
// the devices' signed reports (package report) into the store (package
// store) and serves the dashboard.
//
// # Reports: POST /v1/reports
//
// The body is a report envelope (see package report). The service answers
// 201 when it stored the report, 200 when it had stored it before (a resend:
// nothing changes), and refuses with a 4xx whose plain-text body says why:
//
//	400  malformed report, or clock skew (a report time ahead of the service's
//	     clock by more than MaxSkew, or older than MaxAge)
//	401  bad signature; unknown device without a valid Ferry-Enroll-Token
//	     header and not on the allow-list
//	403  wrong device id: the key is enrolled under another id, or the id
//	     under another key (a device cannot report for another)
//	413  too large (more than report.MaxSize bytes)
//
// A device enrolls with its first accepted report: its id is bound to its
// key from then on. The service is stateless beyond its database, so several
// instances may share one PostgreSQL.
//
// # Dashboard: GET /
//
// Server-rendered HTML (html/template, no scripts): the channels with their
// newest release and staged rollout (package rollout), the versions across
// the fleet, each release's adoption by day (an inline SVG chart), failures
// grouped by reason, the devices with when each was last seen (GET /?q=text
// filters by id, version, channel or outcome) and one device's history
// (GET /devices/{id}; an id may hold slashes).
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/store"
)

// Config configures a Server.
type Config struct {
	Store  *store.Store
	Tokens []string // enrollment tokens; a device presenting one may enroll
	Allow  [][]byte // Ed25519 public keys that may enroll without a token
	Now    func() time.Time
	Logger *slog.Logger
	// MaxSkew is how far ahead of the service's clock a report's time may
	// be (default 10 minutes); MaxAge how old it may be (default 90 days:
	// devices queue reports while offline). Prune deletes reports older
	// than MaxAge: a resend of one is refused, never stored twice.
	MaxSkew, MaxAge time.Duration
}

// Server is the fleet service's HTTP handler.
type Server struct {
	cfg    Config
	tokens [][sha256.Size]byte
	allow  map[string]bool
	mux    *http.ServeMux
}

// New returns the service's handler.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 10 * time.Minute
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 90 * 24 * time.Hour
	}
	s := &Server{cfg: cfg, allow: map[string]bool{}, mux: http.NewServeMux()}
	for _, t := range cfg.Tokens {
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	for _, k := range cfg.Allow {
		s.allow[string(k)] = true
	}
	s.mux.HandleFunc("POST /v1/reports", s.handleReport)
	s.mux.HandleFunc("GET /{$}", s.handleDashboard)
	s.mux.HandleFunc("GET /devices/{id...}", s.handleDevice)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return s
}

// ServeHTTP serves the service.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Prune deletes the reports older than MaxAge.
func (s *Server) Prune(ctx context.Context) (int64, error) {
	return s.cfg.Store.Prune(ctx, s.cfg.Now().Add(-s.cfg.MaxAge))
}

// RunPruner prunes every interval until ctx ends.
func (s *Server) RunPruner(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Prune(ctx); err != nil {
			s.cfg.Logger.Warn("pruning old reports", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Info("pruned old reports", "reports", n, "older than", s.cfg.MaxAge)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tokenOK reports whether t is one of the enrollment tokens, in constant
// time per token.
func (s *Server) tokenOK(t string) bool {
	if t == "" {
		return false
	}
	h := sha256.Sum256([]byte(t))
	ok := 0
	for _, want := range s.tokens {
		ok |= subtle.ConstantTimeCompare(h[:], want[:])
	}
	return ok == 1
}
