package publish

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

func TestRollout(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	if _, err := release(context.Background(), Dir{Root: treeV1.write(t)}, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	before, _ := deviceView(t, keyDir, origin, "stable")
	tests := []struct {
		channel string
		percent int
		wantSeq uint64
		want    error
	}{
		{"stable", 20, 2, nil},
		{"stable", 100, 3, nil},
		{"stable", 101, 0, errAny},
		{"beta", 20, 0, ErrNoChannel},
	}
	for _, tt := range tests {
		p, err := Rollout(context.Background(), origin, tt.channel, tt.percent, ring, 0, testNow)
		if tt.want != nil {
			if err == nil || (tt.want != errAny && !errors.Is(err, tt.want)) {
				t.Errorf("Rollout(%q, %d) = %v, want %v", tt.channel, tt.percent, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := deviceView(t, keyDir, origin, tt.channel)
		want := *before
		want.Sequence, want.Rollout = tt.wantSeq, tt.percent
		if *got != want || *p != want {
			t.Errorf("Rollout(%d): pointer %+v, returned %+v, want %+v", tt.percent, got, p, want)
		}
	}
	if _, err := Rollout(context.Background(), filepath.Join(origin, "nope"), "stable", 5, ring, 0, testNow); !errors.Is(err, ErrNoChannel) {
		t.Errorf("Rollout on an empty origin = %v, want ErrNoChannel", err)
	}
}

var errAny = errors.New("any error")

// TestStagedStaysGoverned: `ferry rollout --stages` marks the pointer
// "rollout-doc 1"; the next release on the channel keeps the mark and the
// percentage, and a plain --percent removes it.
func TestStagedStaysGoverned(t *testing.T) {
	t.Parallel()
	keyDir, ring := newKeys(t)
	origin := t.TempDir()
	if _, err := release(context.Background(), Dir{Root: treeV1.write(t)}, origin, "stable", "1.0", ring); err != nil {
		t.Fatal(err)
	}
	if p, err := StagedRollout(context.Background(), origin, "stable", 5, ring, 0, testNow); err != nil || !p.RolloutDoc || p.Rollout != 5 {
		t.Fatalf("StagedRollout = %+v, %v", p, err)
	}
	if _, err := release(context.Background(), Dir{Root: treeV2.write(t)}, origin, "stable", "2.0", ring); err != nil {
		t.Fatal(err)
	}
	if p, _ := deviceView(t, keyDir, origin, "stable"); p.Version != "2.0" || !p.RolloutDoc || p.Rollout != 5 {
		t.Fatalf("next release: %+v, want governed at 5%%", p)
	}
	if p, err := Rollout(context.Background(), origin, "stable", 100, ring, 0, testNow); err != nil || p.RolloutDoc {
		t.Fatalf("Rollout --percent = %+v, %v; want ungoverned", p, err)
	}
}
