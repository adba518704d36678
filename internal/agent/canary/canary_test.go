package canary

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestBucketStable(t *testing.T) {
	t.Parallel()
	// Golden values: the bucket function is a contract with fleets in the
	// field (changing it would reshuffle every rollout in flight). Computed
	// independently with Python's hashlib from the formula in the doc.
	tests := []struct {
		id, version string
		want        int
	}{
		{"device-1", "1.0.0", 32},
		{"", "", 82},
		{"0123abcd", "v2", 50},
	}
	for _, tt := range tests {
		if got := Bucket(tt.id, tt.version); got != tt.want || got < 0 || got > 99 {
			t.Errorf("Bucket(%q, %q) = %d, want %d in 0..99", tt.id, tt.version, got, tt.want)
		}
	}
	// The separator matters: ("ab", "c") and ("a", "bc") are different inputs.
	same := 0
	for i := range 200 {
		v := fmt.Sprint(i)
		if Bucket("ab"+v, "c") == Bucket("a", "b"+v+"c") {
			same++
		}
	}
	if same > 10 {
		t.Errorf("%d/200 collisions across the separator: id and version are not separated", same)
	}
}

func TestUniform(t *testing.T) {
	t.Parallel()
	const n = 100_000
	var counts [100]int
	for i := range n {
		counts[Bucket(fmt.Sprintf("dev-%06d", i), "2.3.1")]++
	}
	// Chi-squared with 99 degrees of freedom: the 99.9th percentile is 148.2.
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - n/100
		chi += d * d / (n / 100)
	}
	if chi > 148.2 || math.IsNaN(chi) {
		t.Errorf("chi-squared %.1f over 100 buckets: not uniform", chi)
	}
	// A 20% rollout takes about 20% of the fleet.
	took := 0
	for i := range n {
		if Take(fmt.Sprintf("dev-%06d", i), "2.3.1", 20) {
			took++
		}
	}
	if took < n*19/100 || took > n*21/100 {
		t.Errorf("20%% rollout took %d of %d devices", took, n)
	}
}

func TestMonotoneAndPerRelease(t *testing.T) {
	t.Parallel()
	moved := 0
	for i := range 2000 {
		id := fmt.Sprintf("dev-%d", i)
		prev := false
		for p := -1; p <= 101; p++ {
			got := Take(id, "1.0", p)
			if prev && !got {
				t.Fatalf("%s: taken at %d%%, dropped at %d%%", id, p-1, p)
			}
			prev = got
		}
		if !Take(id, "1.0", 100) || Take(id, "1.0", 0) {
			t.Fatalf("%s: 100%% must take and 0%% must not", id)
		}
		if Bucket(id, "1.0") != Bucket(id, "1.1") {
			moved++
		}
	}
	if moved < 1800 {
		t.Errorf("only %d/2000 devices change bucket between releases: the same devices would always go first", moved)
	}
}

func TestDeviceID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "machine-id")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(good, []byte("0123abcd\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, configured, path, want string
		wantErr                      error
	}{
		{"config wins", " gw-7 ", good, "gw-7", nil},
		{"machine id", "", good, "0123abcd", nil},
		{"missing file", "", filepath.Join(dir, "nope"), "", ErrNoDeviceID},
		{"empty file", "", empty, "", ErrNoDeviceID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DeviceID(tt.configured, tt.path)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("DeviceID = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
