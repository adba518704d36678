package github

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTree(t *testing.T) {
	t.Parallel()
	const full = `{"sha":"s","tree":[{"path":"a","mode":"100644","type":"blob","sha":"x","size":1},{"path":"b","mode":"100755","type":"blob","sha":"y","size":2}],"truncated":false}`
	tests := []struct {
		name  string
		body  string
		max   int
		want  error
		count int
	}{
		{"complete", full, 10, nil, 2},
		{"cut short", full[:len(full)-20], 10, ErrProtocol, 0},
		{"cut after the entries", full[:len(full)-1], 10, ErrProtocol, 0},
		{"over max_tree_files", full, 1, ErrTreeTooLarge, 0},
		{"not an object", `[]`, 10, ErrProtocol, 0},
		{"tree not a list", `{"tree":{}}`, 10, ErrProtocol, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := ParseTree(strings.NewReader(tt.body), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseTree error = %v, want %v", err, tt.want)
			}
			if err == nil && len(tr.Entries) != tt.count {
				t.Errorf("%d entries, want %d", len(tr.Entries), tt.count)
			}
		})
	}
}
