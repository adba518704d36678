package command

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		line      string
		timeout   time.Duration
		limit     int
		wantOut   string
		wantTrunc bool
		wantCode  int
		wantErr   error
	}{
		{"ok", "echo hello", time.Minute, 0, "hello\n", false, 0, nil},
		{"stderr captured", "echo oops >&2; exit 3", time.Minute, 0, "oops\n", false, 3, ErrFailed},
		{"bounded", "printf 0123456789", time.Minute, 4, "0123", true, 0, nil},
		{"timeout kills group", "sleep 30 & sleep 30", 100 * time.Millisecond, 0, "", false, -1, ErrTimeout},
		{"empty", "", time.Minute, 0, "", false, -1, ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), tt.line, tt.timeout, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got := []any{string(res.Output), res.Truncated, res.ExitCode}
			want := []any{tt.wantOut, tt.wantTrunc, tt.wantCode}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if res.Duration > 10*time.Second {
				t.Errorf("took %v: the process group was not killed", res.Duration)
			}
		})
	}
}

func TestRunContextCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, "sleep 30", 0, 0)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), `"sleep 30"`) {
		t.Errorf("err = %v, want ErrFailed quoting the command", err)
	}
}

func TestRunEnv(t *testing.T) {
	t.Parallel()
	res, err := RunEnv(context.Background(), `printf %s "$FERRY_VERSION"`, []string{"FERRY_VERSION=1.2.3"}, time.Minute, 0)
	if err != nil || string(res.Output) != "1.2.3" {
		t.Errorf("RunEnv = %q, %v; want the variable passed", res.Output, err)
	}
}
