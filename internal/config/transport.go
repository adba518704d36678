package config

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"
)

// Kinds of link a [[transport]] may be.
const (
	KindWiFi     = "wifi"
	KindCellular = "cellular"
	KindEthernet = "ethernet"
	KindLoRa     = "lora"
)

// Transport is one [[transport]] table: a way out of the device, in order of
// preference. Its keys are a contract with users' files (issue #17).
type Transport struct {
	Name         string  `toml:"name"`
	Kind         string  `toml:"kind"`           // wifi, cellular, ethernet or lora
	CostPerMB    float64 `toml:"cost_per_mb"`    // per 1,000,000 bytes; 0 is free
	Interface    string  `toml:"interface"`      // the network interface connections are bound to
	ModemPort    string  `toml:"modem_port"`     // serial port of a cellular modem or a LoRa module
	ModemBaud    int     `toml:"modem_baud"`     // default 115200
	UpTimeoutSec *int    `toml:"up_timeout_sec"` // how long to wait for the link to come up; nil: 30
}

// UpTimeout returns how long the agent waits for t to come up.
func (t Transport) UpTimeout() time.Duration {
	if t.UpTimeoutSec == nil {
		return DefaultUpTimeoutSec * time.Second
	}
	return time.Duration(*t.UpTimeoutSec) * time.Second
}

// Links holds the keys of links that cost money.
type Links struct {
	Transports []Transport `toml:"transport"`
	// MaxUpdateCost is the largest cost of one update; nil: no limit.
	MaxUpdateCost *float64 `toml:"max_update_cost"`
	// MonthlyBudget is what all updates of a calendar month (local time)
	// may cost together; nil: no limit.
	MonthlyBudget *float64 `toml:"monthly_budget"`
	// MaxWaitForFreeHours is how long a costly update waits for a free
	// link after it was first seen; nil: 24.
	MaxWaitForFreeHours *float64 `toml:"max_wait_for_free_hours"`
}

// Defaults of the link keys.
const (
	DefaultModemBaud           = 115200
	DefaultUpTimeoutSec        = 30
	DefaultMaxWaitForFreeHours = 24.0
)

// ifaceName reports whether s is a Linux interface name: 1-15 letters,
// digits and _.:@- (no "/" or space). No regexp: it would grow the agent.
func ifaceName(s string) bool {
	if len(s) < 1 || len(s) > 15 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_.:@-", r)) {
			return false
		}
	}
	return true
}

// WaitForFreeHours returns max_wait_for_free_hours or its default.
func (l *Links) WaitForFreeHours() float64 {
	if l.MaxWaitForFreeHours == nil {
		return DefaultMaxWaitForFreeHours
	}
	return *l.MaxWaitForFreeHours
}

func (l *Links) linkDefaults() {
	for i := range l.Transports {
		t := &l.Transports[i]
		if t.ModemPort != "" {
			setDefault(&t.ModemBaud, DefaultModemBaud)
		}
	}
}

// checkLinks validates the link keys; errors name the key and its line in
// data, the config text.
func (l *Links) checkLinks(data []byte) error {
	for _, k := range []struct {
		key string
		v   *float64
	}{{"max_update_cost", l.MaxUpdateCost}, {"monthly_budget", l.MonthlyBudget}, {"max_wait_for_free_hours", l.MaxWaitForFreeHours}} {
		if k.v != nil && (*k.v < 0 || math.IsNaN(*k.v) || math.IsInf(*k.v, 0)) {
			return fmt.Errorf("%w: %s (line %d): %v: want a number >= 0", ErrInvalid, k.key, lineOf(data, -1, k.key), *k.v)
		}
	}
	seen := map[string]bool{}
	for i, t := range l.Transports {
		key, why := t.problem(seen)
		if key != "" {
			return fmt.Errorf("%w: transport[%d].%s (line %d): %s", ErrInvalid, i, key, lineOf(data, i, key), why)
		}
		seen[t.Name] = true
	}
	return nil
}

// problem returns the key of t that is wrong and why, or "".
func (t Transport) problem(seen map[string]bool) (key, why string) {
	switch {
	case t.Name == "":
		return "name", "missing: give each [[transport]] a name, like \"wifi\" or \"cellular\""
	case seen[t.Name]:
		return "name", fmt.Sprintf("%q is used by an earlier [[transport]]", t.Name)
	case t.Kind != KindWiFi && t.Kind != KindCellular && t.Kind != KindEthernet && t.Kind != KindLoRa:
		return "kind", fmt.Sprintf("%q: want \"wifi\", \"cellular\", \"ethernet\" or \"lora\"", t.Kind)
	case t.CostPerMB < 0 || math.IsNaN(t.CostPerMB) || math.IsInf(t.CostPerMB, 0):
		return "cost_per_mb", fmt.Sprintf("%v: want a number >= 0 (0 is free)", t.CostPerMB)
	case t.Kind == KindLoRa && t.Interface != "":
		return "interface", "a lora link is a trigger, never a data path: remove interface"
	case t.Kind == KindLoRa && t.ModemPort == "":
		return "modem_port", "missing: the serial port of the LoRa module, like \"/dev/ttyUSB1\""
	case t.Kind != KindLoRa && t.Interface == "":
		return "interface", fmt.Sprintf("missing: the network interface of %q, like \"wlan0\" or \"wwan0\"", t.Name)
	case t.Interface != "" && !ifaceName(t.Interface):
		return "interface", fmt.Sprintf("%q is not an interface name (1-15 letters, digits, _.:@-)", t.Interface)
	case t.ModemPort != "" && t.Kind != KindCellular && t.Kind != KindLoRa:
		return "modem_port", fmt.Sprintf("only a cellular or lora link has a modem, %q is %s", t.Name, t.Kind)
	case t.ModemBaud < 0 || t.ModemBaud > 4_000_000:
		return "modem_baud", fmt.Sprintf("%d: want a baud rate like 9600 or 115200", t.ModemBaud)
	case t.UpTimeoutSec != nil && *t.UpTimeoutSec < 0:
		return "up_timeout_sec", fmt.Sprintf("%d: want seconds >= 0", *t.UpTimeoutSec)
	}
	return "", ""
}

// isTransportHeader reports whether a trimmed TOML line opens a
// [[transport]] table.
func isTransportHeader(line string) bool {
	rest, ok := strings.CutPrefix(line, "[[")
	if !ok {
		return false
	}
	rest, ok = strings.CutPrefix(strings.TrimLeft(rest, " \t"), "transport")
	return ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "]]")
}

// lineOf returns the 1-based line of key in the table'th [[transport]]
// table (-1: at the top level), or of the table's header when the key is
// not written there, or 0 when nothing is found.
func lineOf(data []byte, table int, key string) int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, count, in, header := 0, 0, -1, 0 // in: -1 top level, -2 another table, else a transport's index
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case isTransportHeader(line):
			in, count = count, count+1
			if in == table {
				header = n
			}
		case strings.HasPrefix(line, "["):
			in = -2
		case in == table && keyIs(line, key):
			return n
		}
	}
	return header
}

// keyIs reports whether a TOML line sets key.
func keyIs(line, key string) bool {
	rest, ok := strings.CutPrefix(line, key)
	if !ok {
		rest, ok = strings.CutPrefix(line, `"`+key+`"`)
	}
	return ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=")
}
