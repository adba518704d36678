package healthlog

// Summary is what `ferry-agent status` shows.
type Summary struct {
	LastCheck    *Entry         `json:"last_check,omitempty"`
	LastUpdate   *Entry         `json:"last_update,omitempty"`
	LastRollback *Entry         `json:"last_rollback,omitempty"`
	LastDeferral *Entry         `json:"last_deferral,omitempty"`
	LastError    *Entry         `json:"last_error,omitempty"`
	Counts       map[string]int `json:"counts"` // by kind, since the log began
	Recent       []Entry        `json:"recent"` // the retained window, newest last
}

// Summary returns the latest entry of each kind and the counts.
func (l *Log) Summary() Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Summary{Counts: map[string]int{}, Recent: append([]Entry(nil), l.entries...)}
	latest := map[string]Entry{}
	for k, e := range l.pinned {
		latest[k] = e
	}
	for k, n := range l.dropped {
		s.Counts[k] += n
	}
	for _, e := range l.entries {
		latest[e.Kind] = e
		s.Counts[e.Kind]++
	}
	get := func(k string) *Entry {
		if e, ok := latest[k]; ok {
			e.Pinned = false
			return &e
		}
		return nil
	}
	s.LastCheck, s.LastUpdate, s.LastRollback = get(KindCheck), get(KindUpdate), get(KindRollback)
	s.LastDeferral, s.LastError = get(KindDeferral), get(KindError)
	return s
}

// Read loads the log at path and summarises it, without writing: for
// `ferry-agent status` while the daemon runs.
func Read(path string, limit int) (Summary, error) {
	l := newLog(path, limit, nil)
	if _, err := l.load(); err != nil {
		return Summary{}, err
	}
	return l.Summary(), nil
}
