package schedule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeSupply makes a /sys/class/power_supply look-alike: name → capacity.
func fakeSupply(t *testing.T, caps map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, c := range caps {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if c == "" {
			continue // a supply without capacity, like AC
		}
		if err := os.WriteFile(filepath.Join(d, "capacity"), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBattery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		bat     func(t *testing.T) Battery
		want    int
		wantErr error
	}{
		{"sysfs one", func(t *testing.T) Battery {
			return SysfsBattery{fakeSupply(t, map[string]string{"BAT0": "87\n", "AC": ""})}
		}, 87, nil},
		{"sysfs lowest of two", func(t *testing.T) Battery {
			return SysfsBattery{fakeSupply(t, map[string]string{"BAT0": "87\n", "BAT1": "41\n"})}
		}, 41, nil},
		{"sysfs file path", func(t *testing.T) Battery {
			return SysfsBattery{filepath.Join(fakeSupply(t, map[string]string{"BAT0": "55"}), "BAT0", "capacity")}
		}, 55, nil},
		{"sysfs none", func(t *testing.T) Battery {
			return SysfsBattery{fakeSupply(t, map[string]string{"AC": ""})}
		}, 0, ErrBattery},
		{"sysfs garbage", func(t *testing.T) Battery {
			return SysfsBattery{fakeSupply(t, map[string]string{"BAT0": "full"})}
		}, 0, ErrBattery},
		{"sysfs out of range", func(t *testing.T) Battery {
			return SysfsBattery{fakeSupply(t, map[string]string{"BAT0": "140"})}
		}, 0, ErrBattery},
		{"command percent sign", func(*testing.T) Battery { return CommandBattery{Command: "echo 73%"} }, 73, nil},
		{"command fraction", func(*testing.T) Battery { return CommandBattery{Command: "echo '64.9 charging'"} }, 64, nil},
		{"command fails", func(*testing.T) Battery { return CommandBattery{Command: "exit 1"} }, 0, ErrBattery},
		{"command empty output", func(*testing.T) Battery { return CommandBattery{Command: "true"} }, 0, ErrBattery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.bat(t).Percent(context.Background())
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Percent = %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
