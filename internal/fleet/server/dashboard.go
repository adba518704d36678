package server

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/store"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"ago":     ago,
	"divf":    func(ms int64) float64 { return float64(ms) / 1000 },
	"percent": percent,
	"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
}).ParseFS(templateFS, "templates/*.html"))

// Limits of what one page shows.
const (
	maxDeviceRows  = 500
	maxFailureRows = 50
	maxHistoryRows = 200
)

// dashboard is what the page at / shows.
type dashboard struct {
	Query    string
	Now      time.Time
	Total    int
	Channels []store.Channel
	Stages   map[string]string // channel: its staged rollout, when it has one
	Versions []store.Count
	Adoption *chart // nil before any device updated
	Failures []store.Failure
	Devices  []store.Device
	Capped   bool
}

func (s *Server) handleDashboard(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	d := dashboard{Query: strings.TrimSpace(req.URL.Query().Get("q")), Now: s.cfg.Now()}
	var err error
	if d.Channels, err = s.cfg.Store.Channels(ctx); err == nil {
		if d.Versions, err = s.cfg.Store.Versions(ctx); err == nil {
			if d.Failures, err = s.cfg.Store.Failures(ctx, maxFailureRows); err == nil {
				d.Devices, err = s.cfg.Store.Devices(ctx, d.Query, maxDeviceRows+1)
			}
		}
	}
	if err != nil {
		s.serverError(w, err)
		return
	}
	ad, err := s.cfg.Store.Adoptions(ctx, maxChartLines)
	if err != nil {
		s.serverError(w, err)
		return
	}
	d.Adoption = adoptionChart(ad)
	if d.Stages, err = s.stages(ctx, d.Channels); err != nil {
		s.serverError(w, err)
		return
	}
	for _, v := range d.Versions {
		d.Total += v.N
	}
	if len(d.Devices) > maxDeviceRows {
		d.Devices, d.Capped = d.Devices[:maxDeviceRows], true
	}
	s.render(w, "dashboard.html", d)
}

// stages describes each channel's staged rollout, if it has one.
func (s *Server) stages(ctx context.Context, chans []store.Channel) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range chans {
		r, err := s.cfg.Store.Rollout(ctx, c.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		text := fmt.Sprintf("%s at %d%% (stage %d of %d)", r.State.Release, r.Policy.Stages[r.State.Stage], r.State.Stage+1, len(r.Policy.Stages))
		if r.State.Halted {
			text += ", halted: " + r.State.HaltReason
		}
		out[c.Name] = text
	}
	return out, nil
}

// deviceView is what /devices/{id} shows.
type deviceView struct {
	Now     time.Time
	Device  *store.Device
	History []store.Entry
}

func (s *Server) handleDevice(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	v := deviceView{Now: s.cfg.Now()}
	var err error
	if v.Device, err = s.cfg.Store.Device(ctx, req.PathValue("id")); err == nil {
		v.History, err = s.cfg.Store.History(ctx, v.Device.ID, maxHistoryRows)
	}
	if err != nil {
		if err == store.ErrNotFound {
			http.Error(w, fmt.Sprintf("no device %q", req.PathValue("id")), http.StatusNotFound)
			return
		}
		s.serverError(w, err)
		return
	}
	s.render(w, "device.html", v)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		s.serverError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	fmt.Fprint(w, b.String())
}

func (s *Server) serverError(w http.ResponseWriter, err error) {
	s.cfg.Logger.Error("dashboard", "err", err)
	http.Error(w, "the dashboard could not read the database", http.StatusInternalServerError)
}

// ago is how long before now t was, roughly.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// percent is n of total in percent, for bar widths.
func percent(n, total int) int {
	if total == 0 {
		return 0
	}
	return n * 100 / total
}
