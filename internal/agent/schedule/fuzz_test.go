package schedule

import "testing"

// FuzzParsePercent feeds battery_command output and capacity files, which
// come from outside the agent: any input yields 0..100 or an error.
func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"87", "87%\n", "64.9 charging", "", "-1", "1e3", "NaN", "Inf", "100.0", "  5  "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePercent(data)
		if err == nil && (p < 0 || p > 100) {
			t.Fatalf("parsePercent(%q) = %d, outside 0..100", data, p)
		}
	})
}
