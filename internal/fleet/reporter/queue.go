package reporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/atomicfile"
	"github.com/ferry-ota/ferry/internal/fleet/report"
)

// queueState is reports/state.json.
type queueState struct {
	Next    uint64 `json:"next"`
	Dropped uint64 `json:"dropped"`
}

func (r *Reporter) statePath() string { return filepath.Join(r.dir, "state.json") }

func (r *Reporter) loadState() (queueState, error) {
	s := queueState{Next: 1}
	data, err := os.ReadFile(r.statePath())
	if errors.Is(err, os.ErrNotExist) {
		// A fresh queue numbers from the clock (Unix ms), so that a device
		// whose state was wiped, and enrolled again, does not reuse the
		// numbers of its previous life (the service would take its new
		// reports for resends).
		s.Next = uint64(max(1, time.Now().UnixMilli()))
		return s, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil || s.Next == 0 {
		return s, fmt.Errorf("reporter: %s: unreadable (%v): remove it to start numbering again", r.statePath(), err)
	}
	return s, nil
}

func (r *Reporter) saveState(s queueState) error {
	data, _ := json.Marshal(s)
	if err := atomicfile.Write(r.statePath(), data, 0o644); err != nil {
		return fmt.Errorf("reporter: queue state: %w", err)
	}
	return nil
}

// Dropped is how many reports a full queue dropped so far.
func (r *Reporter) Dropped() (uint64, error) {
	s, err := r.loadState()
	return s.Dropped, err
}

// Enqueue numbers rep, signs it and adds it to the queue, dropping the
// oldest reports beyond MaxQueue.
func (r *Reporter) Enqueue(rep *report.Report) error {
	queued, err := r.queued()
	if err != nil {
		return err
	}
	body, err := r.number(rep, queued)
	if err != nil {
		return err
	}
	return r.store(rep.Number, body)
}

// number drops the oldest queued reports beyond MaxQueue - 1, then gives
// rep the next number and signs it. The number is saved before the report
// is sent or queued, so that a power cut never reuses one.
func (r *Reporter) number(rep *report.Report, queued []string) ([]byte, error) {
	s, err := r.loadState()
	if err != nil {
		return nil, err
	}
	for len(queued) >= r.cfg.MaxQueue {
		if err := atomicfile.Remove(filepath.Join(r.dir, queued[0])); err != nil {
			return nil, fmt.Errorf("reporter: dropping the oldest report: %w", err)
		}
		queued = queued[1:]
		s.Dropped++
	}
	rep.Device, rep.Number, rep.Dropped = r.cfg.Device, s.Next, s.Dropped
	body, err := report.Sign(rep, r.key)
	if err != nil {
		return nil, err
	}
	s.Next++
	return body, r.saveState(s)
}

func (r *Reporter) store(number uint64, body []byte) error {
	if err := atomicfile.Write(filepath.Join(r.dir, fmt.Sprintf("%020d.json", number)), body, 0o644); err != nil {
		return fmt.Errorf("reporter: queue report %d: %w", number, err)
	}
	return nil
}

// queued lists the queued report files, oldest first.
func (r *Reporter) queued() ([]string, error) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("reporter: queue: %w", err)
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); len(n) == 25 && strings.HasSuffix(n, ".json") && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Queued is how many reports wait to be sent.
func (r *Reporter) Queued() (int, error) {
	q, err := r.queued()
	return len(q), err
}

// Flush sends the queue oldest first, until it is empty or a send fails
// (ErrSend: the rest stays for the next time).
func (r *Reporter) Flush(ctx context.Context) error {
	queued, err := r.queued()
	if err != nil {
		return err
	}
	for i, name := range queued {
		path := filepath.Join(r.dir, name)
		body, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reporter: %w", err)
		}
		permanent, err := r.post(ctx, body)
		if err != nil && !permanent {
			return fmt.Errorf("%w: %s: %v (%d reports queued)", ErrSend, r.cfg.URL, err, len(queued)-i)
		}
		if err != nil {
			r.cfg.Logger.Warn("fleet service refused a report: dropped", "report", strings.TrimLeft(strings.TrimSuffix(name, ".json"), "0"), "err", err)
		}
		if err := atomicfile.Remove(path); err != nil {
			return fmt.Errorf("reporter: %w", err)
		}
	}
	return nil
}
