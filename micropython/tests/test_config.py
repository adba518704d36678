# Tests of ferry.config, run in real MicroPython:
#   node micropython/runner/exec.mjs micropython/tests/test_config.py
import json
import os

from ferry import config

DIR = "/cfgtest"
try:
    os.mkdir(DIR)
except OSError:
    pass

failures = []


def write(doc):
    p = DIR + "/ferry.json"
    with open(p, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def check(name, cond, detail=""):
    if not cond:
        failures.append(name + ": " + str(detail))
        print("FAIL", name, detail)


def load_err(doc):
    try:
        config.load(write(doc))
    except config.ConfigError as e:
        return str(e)
    return None


MIN = {"origin": "http://127.0.0.1:8080/", "root_keys": ["/root.pub"]}


def with_(**kw):
    d = dict(MIN)
    d.update(kw)
    return d


# Defaults: flash root, /.ferry, the Pico W's caps.
c = config.load(write(MIN))
check("target default", c.target == "/", c.target)
check("state default", c.state == "/.ferry", c.state)
check("channel default", c.channel == "stable", c.channel)
check("root_threshold default", c.root_threshold == 1)
check("http defaults", (c.http_retries, c.backoff_sec, c.max_backoff_sec) == (3, 2, 60))
check("caps fit a Pico W", c.max_files == 500 and c.max_file_mb == 1 and c.max_total_mb == 2 and c.max_manifest_kb == 64)
check("watchdog fits the RP2040", c.watchdog_timeout_ms <= 8388)
check("max_trial_boots default", c.max_trial_boots == 3)
check("no github", c.github is None)
check("allow all", config.allowed(c, "lib/x.py"))

# Relative paths are relative to the config's folder.
c = config.load(write(with_(root_keys=["keys/root.pub"], target="app", state=".ferry-x")))
check("relative target", c.target == "/cfgtest/app", c.target)
check("relative root key", c.root_keys == ["/cfgtest/keys/root.pub"], c.root_keys)
check("relative state", c.state == "/cfgtest/.ferry-x", c.state)

# Unknown keys: an error naming the key.
e = load_err(with_(chanel="beta"))
check("unknown key named", e is not None and "chanel" in e and "unknown key" in e, e)
check("error names the file", e is not None and e.startswith("/cfgtest/ferry.json:"), e)
e = load_err(with_(github=None, origin="", **{}))  # origin empty -> missing
check("missing origin", e is not None and "origin" in e, e)
e = load_err({"github": {"owner": "a", "repo": "b", "max_tree_kbb": 5}, "root_keys": ["/r"]})
check("unknown github key", e is not None and "github.max_tree_kbb" in e, e)
e = load_err(with_(health_command="curl x"))
check("linux-only key says what to use", e is not None and "health_command" in e and "confirm()" in e, e)

# Types and ranges.
for doc, key in (
    (with_(http_retries="3"), "http_retries"),
    (with_(http_retries=True), "http_retries"),
    (with_(root_keys="/root.pub"), "root_keys"),
    (with_(allow=["/abs"]), "allow"),
    (with_(allow=["a/../b"]), "allow"),
    (with_(update_window_start_hour=2), "update_window"),
    (with_(update_window_start_hour=24, update_window_end_hour=3), "update_window_start_hour"),
    (with_(power_source="wind"), "power_source"),
    (with_(watchdog_timeout_ms=20000), "watchdog_timeout_ms"),
    (with_(max_backoff_sec=1), "max_backoff_sec"),
    (with_(state="/app-state", target="/"), "state"),
    (with_(root_keys=[]), "root_keys"),
    (with_(origin="/sd/ferry"), "origin"),
    (with_(max_files=-1), "max_files"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
):
    e = load_err(doc)
    check("refused: " + key, e is not None and key in e, e)

# Accepted: state outside a sub-folder target; windows; solar.
c = config.load(write(with_(target="/app", state="/.ferry", update_window_start_hour=22, update_window_end_hour=4,
                            power_source="solar", battery_adc_pin=28, battery_divider=3)))
check("window kept", (c.update_window_start_hour, c.update_window_end_hour) == (22, 4))
check("float key takes an int", c.battery_divider == 3)
check("pin", c.battery_adc_pin == 28)

# GitHub table: defaults, developer needs allow_unsigned, developer caps.
gh = {"owner": "acme", "repo": "sensor", "channel": "developer", "allow_unsigned": True}
c = config.load(write({"github": gh}))
check("github defaults", c.github.branch == "main" and c.github.api_url == "https://api.github.com")
check("developer caps", c.github.max_tree_kb == 100 and c.github.max_tree_files == 250,
      (c.github.max_tree_kb, c.github.max_tree_files))
check("unsigned needs no root key", c.root_keys == [])
e = load_err({"github": {"owner": "acme", "repo": "sensor", "channel": "developer"}, "root_keys": ["/r"]})
check("developer without allow_unsigned", e is not None and "allow_unsigned" in e, e)
e = load_err({"github": {"owner": "acme", "repo": "sensor"}, "origin": "http://x/", "root_keys": ["/r"]})
check("origin and github", e is not None and "not both" in e, e)

# allow filters.
c = config.load(write(with_(allow=["main.py", "lib/"])))
check("allow file", config.allowed(c, "main.py"))
check("allow dir", config.allowed(c, "lib/a/b.py"))
check("allow refuses others", not config.allowed(c, "boot.py") and not config.allowed(c, "libx.py"))

# A missing file names itself.
try:
    config.load("/nope/ferry.json")
    check("missing file", False, "no error")
except config.ConfigError as e:
    check("missing file", "/nope/ferry.json" in str(e), e)

if failures:
    raise SystemExit(1)
print("ok test_config")
