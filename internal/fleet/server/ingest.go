package server

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/store"
)

// TokenHeader carries the fleet's enrollment token.
const TokenHeader = "Ferry-Enroll-Token"

// refusal is a 4xx answer with the reason.
type refusal struct {
	code int
	msg  string
}

func (r *refusal) Error() string { return r.msg }

func refuse(code int, format string, args ...any) error {
	return &refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) handleReport(w http.ResponseWriter, req *http.Request) {
	stored, err := s.ingest(req)
	var ref *refusal
	switch {
	case errors.As(err, &ref):
		s.cfg.Logger.Info("report refused", "remote", req.RemoteAddr, "code", ref.code, "why", ref.msg)
		http.Error(w, ref.msg, ref.code)
	case err != nil:
		s.cfg.Logger.Error("report", "err", err)
		http.Error(w, "the service could not store the report: try again later", http.StatusServiceUnavailable)
	case stored:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintln(w, "stored")
	default:
		fmt.Fprintln(w, "stored before")
	}
}

// ingest checks and stores one report; a *refusal says why it refused.
func (s *Server) ingest(req *http.Request) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, report.MaxSize+1))
	if err != nil {
		return false, refuse(http.StatusBadRequest, "reading the report: %v", err)
	}
	r, key, err := report.Open(body)
	switch {
	case errors.Is(err, report.ErrTooLarge):
		return false, refuse(http.StatusRequestEntityTooLarge, "report too large: at most %d bytes", report.MaxSize)
	case errors.Is(err, report.ErrSignature):
		return false, refuse(http.StatusUnauthorized, "bad signature: %v", err)
	case err != nil:
		return false, refuse(http.StatusBadRequest, "malformed report: %v", err)
	}
	if err := s.checkClock(r); err != nil {
		return false, err
	}
	if err := s.authorize(req, r, key); err != nil {
		return false, err
	}
	return s.cfg.Store.AddReport(req.Context(), r, body, s.cfg.Now())
}

func (s *Server) checkClock(r *report.Report) error {
	now := s.cfg.Now()
	if ahead := r.Time.Sub(now); ahead > s.cfg.MaxSkew {
		return refuse(http.StatusBadRequest, "clock skew: report %d time %s is %s ahead of the service's clock (at most %s): set the device's clock",
			r.Number, r.Time.Format("2006-01-02T15:04:05Z07:00"), ahead.Round(time.Second), s.cfg.MaxSkew)
	}
	if age := now.Sub(r.Time); age > s.cfg.MaxAge {
		return refuse(http.StatusBadRequest, "clock skew: report %d time %s is older than %s: set the device's clock",
			r.Number, r.Time.Format("2006-01-02T15:04:05Z07:00"), s.cfg.MaxAge)
	}
	return nil
}

// authorize binds the report to its device: a known key must report under
// its own id; an unknown key enrolls with a token or from the allow-list.
func (s *Server) authorize(req *http.Request, r *report.Report, key ed25519.PublicKey) error {
	ctx := req.Context()
	d, err := s.cfg.Store.DeviceByKey(ctx, key)
	switch {
	case err == nil && d.ID != r.Device:
		return refuse(http.StatusForbidden, "wrong device id: this key is enrolled as device %q, the report names %q", d.ID, r.Device)
	case err == nil:
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if d, err := s.cfg.Store.Device(ctx, r.Device); err == nil && d.PublicKey != nil {
		return refuse(http.StatusForbidden, "wrong device id: device %q is enrolled with another key (if it lost its key, run `ferry fleet forget` for it)", r.Device)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !s.tokenOK(req.Header.Get(TokenHeader)) && !s.allow[string(key)] {
		if req.Header.Get(TokenHeader) != "" {
			return refuse(http.StatusUnauthorized, "unknown device %q: the enrollment token is not the fleet's (check enroll_token)", r.Device)
		}
		return refuse(http.StatusUnauthorized, "unknown device %q: enroll it with the fleet's token (enroll_token) or put its key on the allow-list", r.Device)
	}
	err = s.cfg.Store.Enroll(ctx, r.Device, key, s.cfg.Now())
	if errors.Is(err, store.ErrConflict) {
		return refuse(http.StatusForbidden, "wrong device id: %v", err)
	}
	if err == nil {
		s.cfg.Logger.Info("device enrolled", "device", r.Device)
	}
	return err
}
