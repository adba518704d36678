package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const links = `
max_update_cost = 0.5
monthly_budget = 2.0
max_wait_for_free_hours = 6

[[transport]]
name = "wifi"
kind = "wifi"
cost_per_mb = 0
interface = "wlan0"

[[transport]]
name = "cellular"
kind = "cellular"
cost_per_mb = 0.5
interface = "wwan0"
modem_port = "/dev/ttyUSB2"

[[transport]]
name = "lora"
kind = "lora"
modem_port = "/dev/ttyUSB1"
modem_baud = 9600
`

func TestParseLinks(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(full+links), "/etc/ferry")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Transports) != 3 || c.Transports[1].CostPerMB != 0.5 || c.Transports[1].Interface != "wwan0" {
		t.Fatalf("transports: %+v", c.Transports)
	}
	if c.Transports[1].ModemBaud != DefaultModemBaud || c.Transports[2].ModemBaud != 9600 || c.Transports[0].ModemBaud != 0 {
		t.Fatalf("modem_baud defaults: %+v", c.Transports)
	}
	if c.Transports[0].UpTimeout() != DefaultUpTimeoutSec*time.Second {
		t.Fatalf("up_timeout_sec default: %s", c.Transports[0].UpTimeout())
	}
	if *c.MaxUpdateCost != 0.5 || *c.MonthlyBudget != 2 || c.WaitForFreeHours() != 6 {
		t.Fatalf("budget keys: %v %v %v", *c.MaxUpdateCost, *c.MonthlyBudget, c.WaitForFreeHours())
	}
	c, err = Parse([]byte(full), "/etc/ferry")
	if err != nil || c.MaxUpdateCost != nil || c.MonthlyBudget != nil || c.WaitForFreeHours() != DefaultMaxWaitForFreeHours {
		t.Fatalf("no link keys: %v %+v", err, c.Links)
	}
}

func TestParseLinkErrors(t *testing.T) {
	t.Parallel()
	// full is lines 1-10; the first [[transport]] header is line 16.
	for _, tc := range []struct{ name, old, new, msg string }{
		{"bad kind", `kind = "cellular"`, `kind = "4g"`, `transport[1].kind (line 24): "4g"`},
		{"negative cost", "cost_per_mb = 0.5", "cost_per_mb = -1", "transport[1].cost_per_mb (line 25)"},
		{"no interface", `interface = "wwan0"`, "", "transport[1].interface (line 22): missing"},
		{"duplicate name", `name = "cellular"`, `name = "wifi"`, `transport[1].name (line 23): "wifi" is used`},
		{"lora with interface", `modem_baud = 9600`, `interface = "wlan1"`, "transport[2].interface (line 33): a lora link is a trigger"},
		{"bad interface", `"wlan0"`, `"wlan0/../x"`, "transport[0].interface (line 20)"},
		{"negative budget", "monthly_budget = 2.0", "monthly_budget = -2.0", "monthly_budget (line 13)"},
		{"modem on wifi", `interface = "wlan0"`, `interface = "wlan0"` + "\nmodem_port = \"/dev/ttyS0\"", "transport[0].modem_port (line 21)"},
		{"unknown key", `modem_baud = 9600`, `modem_bud = 9600`, `unknown key "transport.modem_bud" (line 33)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := strings.Replace(full+links, tc.old, tc.new, 1)
			_, err := Parse([]byte(text), "/etc/ferry")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tc.msg)
			}
		})
	}
}
