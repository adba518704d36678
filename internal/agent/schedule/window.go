package schedule

import (
	"fmt"
	"time"
)

// Window is a daily span of local hours [Start, End): 22 to 4 means from
// 22:00 to 03:59:59, across midnight. Start == End means the whole day.
type Window struct {
	Start, End int            // hours 0..23
	Loc        *time.Location // nil means time.Local
}

// NewWindow returns the window from start to end in loc, or nil when either
// hour is unset (no window: any time). Hours must be 0..23.
func NewWindow(start, end *int, loc *time.Location) (*Window, error) {
	if start == nil && end == nil {
		return nil, nil
	}
	if start == nil || end == nil {
		return nil, fmt.Errorf("%w: set both start and end hours of a window, or neither", ErrConfig)
	}
	for _, h := range []int{*start, *end} {
		if h < 0 || h > 23 {
			return nil, fmt.Errorf("%w: window hour %d: want 0..23", ErrConfig, h)
		}
	}
	return &Window{Start: *start, End: *end, Loc: loc}, nil
}

func (w *Window) loc() *time.Location {
	if w.Loc == nil {
		return time.Local
	}
	return w.Loc
}

// Contains reports whether t falls inside the window.
func (w *Window) Contains(t time.Time) bool {
	h := t.In(w.loc()).Hour()
	switch {
	case w.Start == w.End:
		return true
	case w.Start < w.End:
		return h >= w.Start && h < w.End
	default: // across midnight
		return h >= w.Start || h < w.End
	}
}

// NextOpen returns t if it is inside the window, else the next time the
// window opens (Start:00 local, today or tomorrow).
func (w *Window) NextOpen(t time.Time) time.Time {
	if w.Contains(t) {
		return t
	}
	lt := t.In(w.loc())
	open := time.Date(lt.Year(), lt.Month(), lt.Day(), w.Start, 0, 0, 0, w.loc())
	if !open.After(t) {
		open = time.Date(lt.Year(), lt.Month(), lt.Day()+1, w.Start, 0, 0, 0, w.loc())
	}
	return open
}

// String returns "22:00-04:00".
func (w *Window) String() string { return fmt.Sprintf("%02d:00-%02d:00", w.Start, w.End) }
