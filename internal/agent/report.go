package agent

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/agent/healthlog"
	"github.com/ferry-ota/ferry/internal/agent/schedule"
	"github.com/ferry-ota/ferry/internal/fleet/report"
	"github.com/ferry-ota/ferry/internal/fleet/reporter"
	"github.com/ferry-ota/ferry/internal/update"
)

// reportTimeout bounds the sending of reports after a cycle.
const reportTimeout = 60 * time.Second

// openReporter opens the fleet reporter, or returns nil (logged): without
// it the agent updates as before and sends no reports.
func (a *Agent) openReporter() *reporter.Reporter {
	r, err := reporter.Open(reporter.Config{State: a.cfg.State, URL: a.cfg.ReportURL, Token: a.cfg.EnrollToken,
		Device: a.deviceID, Logger: a.log})
	if err != nil {
		a.log.Warn("fleet reports off", "err", err)
		return nil
	}
	return r
}

// report sends the cycle's report; failing is logged, never returned.
func (a *Agent) report(ctx context.Context, start time.Time, res *update.Result, err error) {
	if a.reporter == nil || errors.Is(err, context.Canceled) {
		return
	}
	r := a.cycleReport(ctx, start, res, err)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	if err := a.reporter.Report(rctx, r); err != nil {
		a.log.Warn("fleet report not sent: kept for the next cycle", "err", err)
	}
}

// cycleReport describes one cycle.
func (a *Agent) cycleReport(ctx context.Context, start time.Time, res *update.Result, err error) *report.Report {
	now := a.clock.Now()
	r := &report.Report{Time: now, Channel: a.cfg.Channel, DurationMS: now.Sub(start).Milliseconds(), Link: defaultLink("/proc/net/route")}
	switch {
	case errors.Is(err, ErrUnhealthy):
		r.Outcome, r.Reason = report.RolledBack, err.Error()
	case err != nil:
		r.Outcome, r.Reason = report.Failed, err.Error()
	case res.Deferred != "":
		r.Outcome, r.Reason = report.Deferred, res.Deferred
	case res.UpToDate:
		r.Outcome = report.UpToDate
	default:
		r.Outcome = report.Updated
	}
	if res != nil {
		r.Target, r.Bytes = res.To, res.Downloaded
		if res.Link != "" { // the [[transport]] link the cycle chose
			r.Link = res.Link
		}
	}
	if rec, err := a.in.Installed(); err == nil && rec != nil {
		r.Version, r.Sequence, r.Channel = rec.Version, rec.Sequence, rec.Channel
	}
	if p, err := schedule.BatteryFromConfig(a.cfg).Percent(ctx); err == nil && p >= 0 && p <= 100 {
		r.Battery = &p
	}
	r.Reason = clip(r.Reason, 1024)
	r.Health = healthSummary(a.history.Summary())
	return r
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func healthSummary(s healthlog.Summary) report.Health {
	h := report.Health{Updates: s.Counts[healthlog.KindUpdate], Rollbacks: s.Counts[healthlog.KindRollback],
		Errors: s.Counts[healthlog.KindError], Deferrals: s.Counts[healthlog.KindDeferral]}
	if s.LastError != nil {
		h.LastError = s.LastError.Message
	}
	h.LastError = clip(h.LastError, 512)
	return h
}

// defaultLink is the interface of the default route in a /proc/net/route
// table, or "" when there is none.
func defaultLink(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 2 && fields[1] == "00000000" {
			return fields[0]
		}
	}
	return ""
}
