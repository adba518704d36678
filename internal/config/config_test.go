package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const full = `
origin    = "http://127.0.0.1:8080/"
channel   = "stable"
target    = "app"
state     = "/var/lib/ferry"
root_keys = ["keys/root.pub"]
allow     = ["main.py", "lib/"]
http_retries = 3
backoff_sec = 2
max_backoff_sec = 60
`

func TestParseFull(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(full), "/etc/ferry")
	if err != nil {
		t.Fatal(err)
	}
	if c.Target != "/etc/ferry/app" || c.State != "/var/lib/ferry" || c.RootKeys[0] != "/etc/ferry/keys/root.pub" {
		t.Fatalf("relative paths not resolved against the config dir: %+v", c)
	}
	if c.HTTPRetries != 3 || c.StallSec != 30 || c.MaxFiles != 100_000 || c.RootThreshold != 1 {
		t.Fatalf("defaults: %+v", c)
	}
	for p, want := range map[string]bool{"main.py": true, "lib/x/y.py": true, "main.pyc": false, "libx": false} {
		if c.Allowed(p) != want {
			t.Errorf("Allowed(%q) = %v", p, !want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, msg string }{
		{"unknown key", full + "ma_backoff_sec = 3\n", `unknown key "ma_backoff_sec" (line 11)`},
		{"unknown github key", full + "[github]\nowner=\"a\"\nrepo=\"b\"\nbrnch=\"x\"\n", `"github.brnch"`},
		{"wrong type", strings.Replace(full, "http_retries = 3", `http_retries = "3"`, 1), "line 8"},
		{"no origin", strings.Replace(full, `origin    = "http://127.0.0.1:8080/"`, "", 1), "origin: missing"},
		{"no target", strings.Replace(full, `target    = "app"`, "", 1), "target: missing"},
		{"no root keys", strings.Replace(full, `root_keys = ["keys/root.pub"]`, "", 1), "root_keys: missing"},
		{"state inside target", strings.Replace(full, `"/var/lib/ferry"`, `"app/state"`, 1), "inside target"},
		{"bad allow", strings.Replace(full, `"lib/"`, `"../etc/"`, 1), `allow: entry "../etc/"`},
		{"bad layout", full + "layout = \"ab\"\n", `layout: "ab": want "inplace"`},
		{"slots with state in target", strings.Replace(full, `"/var/lib/ferry"`, `"app/.ferry"`, 1) + "layout = \"slots\"\n", "the slots layout needs it outside"},
		{"report_url not a URL", full + "report_url = \"fleet.example.com\"\n", "report_url"},
		{"enroll_token alone", full + "enroll_token = \"ferry-fleet-x\"\n", "enroll_token: set report_url"},
		{"backoff order", strings.Replace(full, "max_backoff_sec = 60", "max_backoff_sec = 1", 1), "max_backoff_sec"},
		{"both origins", full + "[github]\nowner=\"a\"\nrepo=\"b\"\n", "either origin or [github]"},
		{"dev channel unsigned", strings.Replace(full, `origin    = "http://127.0.0.1:8080/"`, "", 1) + "[github]\nowner=\"a\"\nrepo=\"b\"\nchannel=\"developer\"\n", "allow_unsigned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.text), "/etc/ferry")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tc.msg)
			}
		})
	}
}

func TestFleetKeys(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(full+"report_url = \"https://fleet.example.com/v1/reports\"\nenroll_token = \"ferry-fleet-abc\"\n"), "/etc/ferry")
	if err != nil || c.ReportURL != "https://fleet.example.com/v1/reports" || c.EnrollToken != "ferry-fleet-abc" {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
}

func TestStateInsideTargetAsDotFerry(t *testing.T) {
	t.Parallel()
	text := strings.Replace(full, `"/var/lib/ferry"`, `"app/.ferry"`, 1)
	c, err := Parse([]byte(text), "/d")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != filepath.Join("/d", "app", ".ferry") {
		t.Fatalf("state %q", c.State)
	}
}

func TestLayout(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(full), "/d")
	if err != nil || c.Layout != "inplace" {
		t.Fatalf("default layout %q, %v; want inplace", c.Layout, err)
	}
	c, err = Parse([]byte(full+"layout = \"slots\"\n"), "/d")
	if err != nil || c.Layout != "slots" {
		t.Fatalf("layout %q, %v; want slots", c.Layout, err)
	}
}

func TestLoadNamesFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "missing.toml"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "missing.toml") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("[github]\nowner=\"a\"\nrepo=\"b\"\nchannel=\"developer\"\nallow_unsigned=true\ntarget=\"t\"\nstate=\"s\"\n"))
	f.Add([]byte("origin = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "/base")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if c.Target == "" || c.State == "" || !filepath.IsAbs(c.Target) {
			t.Fatalf("accepted config without absolute target/state: %+v", c)
		}
	})
}

func TestExplicitZeroIsKept(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(full+"stall_sec = 5\n"), "/d")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse([]byte(strings.NewReplacer("http_retries = 3", "http_retries = 0", "backoff_sec = 2", "backoff_sec = 0").Replace(full)), "/d")
	if err != nil {
		t.Fatal(err)
	}
	if c.StallSec != 5 || c2.HTTPRetries != 0 || c2.BackoffSec != 0 || c2.MaxBackoffSec != 60 {
		t.Fatalf("explicit values lost: stall %d, retries %d, backoff %d", c.StallSec, c2.HTTPRetries, c2.BackoffSec)
	}
}
