package schedule

import (
	"errors"
	"testing"
	"time"
)

func at(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }

func TestWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		start, end int
		now        time.Time
		wantIn     bool
		wantOpen   time.Time
	}{
		{"day inside", 9, 17, at(12, 0), true, at(12, 0)},
		{"day before", 9, 17, at(8, 59), false, at(9, 0)},
		{"day end is exclusive", 9, 17, at(17, 0), false, at(9, 0).AddDate(0, 0, 1)},
		{"night late", 22, 4, at(23, 30), true, at(23, 30)},
		{"night early", 22, 4, at(3, 59), true, at(3, 59)},
		{"night closed", 22, 4, at(4, 0), false, at(22, 0)},
		{"night closed evening", 22, 4, at(21, 0), false, at(22, 0)},
		{"whole day", 5, 5, at(1, 0), true, at(1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := NewWindow(&tt.start, &tt.end, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Contains(tt.now); got != tt.wantIn {
				t.Errorf("Contains(%v) = %v, want %v", tt.now, got, tt.wantIn)
			}
			if got := w.NextOpen(tt.now); !got.Equal(tt.wantOpen) {
				t.Errorf("NextOpen(%v) = %v, want %v", tt.now, got, tt.wantOpen)
			}
		})
	}
}

func TestWindowLocalTime(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("UTC+10", 10*3600)
	s, e := 1, 3
	w, _ := NewWindow(&s, &e, loc)
	if !w.Contains(at(16, 30)) { // 02:30 local
		t.Error("16:30 UTC is 02:30 in UTC+10: want inside 01-03")
	}
	if got := w.NextOpen(at(18, 0)); !got.Equal(at(15, 0).AddDate(0, 0, 1)) {
		t.Errorf("NextOpen = %v, want 01:00 local next day", got.UTC())
	}
}

func TestNewWindowErrors(t *testing.T) {
	t.Parallel()
	one, bad := 1, 24
	tests := []struct {
		name       string
		start, end *int
		wantNil    bool
		wantErr    error
	}{
		{"unset", nil, nil, true, nil},
		{"half set", &one, nil, true, ErrConfig},
		{"hour 24", &one, &bad, true, ErrConfig},
		{"ok", &one, &one, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := NewWindow(tt.start, tt.end, nil)
			if !errors.Is(err, tt.wantErr) || (w == nil) != tt.wantNil {
				t.Errorf("NewWindow = %v, %v; want nil=%v err %v", w, err, tt.wantNil, tt.wantErr)
			}
		})
	}
}
