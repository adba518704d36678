package link

import "fmt"

// Cost returns what n bytes cost at perMB per 1,000,000 bytes.
func Cost(n int64, perMB float64) float64 { return float64(n) / 1e6 * perMB }

// Size formats a byte count for a deferral line: "1.2 MB", or "0.04 MB"
// below 0.1 MB.
func Size(n int64) string {
	mb := float64(n) / 1e6
	if mb < 0.1 {
		return fmt.Sprintf("%.2f MB", mb)
	}
	return fmt.Sprintf("%.1f MB", mb)
}

// Money formats an amount in the config's currency: two decimals.
func Money(v float64) string { return fmt.Sprintf("%.2f", v) }
