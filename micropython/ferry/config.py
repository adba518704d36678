# ferry/config.py: the board's configuration, /ferry.json.
#
# The keys are the Linux agent's (internal/config, the README's key table)
# wherever they mean the same thing, so one fleet has one vocabulary. Parsing
# is strict: an unknown key is an error naming it, so a typo never silently
# turns a safety feature off. The defaults fit a Raspberry Pi Pico W (RP2040,
# about 190 KB of heap, 1.4 MB of littlefs, a watchdog of at most 8.3 s).
# Relative paths are relative to the folder of ferry.json (the flash root).
#
# Keys of the Linux agent that mean nothing on a board (commands, sysfs paths)
# are refused with the board's way of doing the same thing.

import json

MAX_SIZE = 8192  # bytes of ferry.json; a config is a few hundred

# key: default. The type of the default is the type the key must have;
# None means "optional, int" (hours) or is listed in _TYPES.
DEFAULTS = {
    "origin": "",
    "channel": "stable",
    "target": "/",
    "state": "/.ferry",
    "root_keys": [],
    "root_threshold": 1,
    "allow": [],
    "http_retries": 3,
    "backoff_sec": 2,
    "max_backoff_sec": 60,
    "stall_sec": 30,
    "connect_timeout_sec": 10,
    "max_files": 500,
    "max_file_mb": 1,
    "max_total_mb": 2,
    "max_manifest_kb": 64,
    "github": None,
    # the scheduling keys of `ferry-agent run`
    "check_interval_sec": 3600,
    "min_update_interval_sec": 600,
    "update_window_start_hour": None,
    "update_window_end_hour": None,
    "utc_offset_min": 0,
    "min_battery_percent": 0,
    "battery_adc_pin": None,
    "battery_divider": 3.0,
    "battery_empty_mv": 3000,
    "battery_full_mv": 4200,
    "power_source": "mains",
    "solar_window_start_hour": None,
    "solar_window_end_hour": None,
    "max_crashes_before_delay": 3,
    "crash_delay_sec": 3600,
    "device_id": "",
    # fleet reports (issue #16, ferry/fleet.py): "" = no reports
    "report_url": "",
    "enroll_token": "",
    "error_history_limit": 20,
    "watchdog_timeout_ms": 8000,
    "led": "LED",
    "max_trial_boots": 3,
    # links that cost money (issue #17): checked by links.py, not here
    "transport": None,
    "max_update_cost": None,
    "monthly_budget": None,
    "max_wait_for_free_hours": None,
}
_LINK_KEYS = ("transport", "max_update_cost", "monthly_budget", "max_wait_for_free_hours")

# Keys whose default is None: what they must be when set.
_OPTIONAL_INT = (
    "update_window_start_hour", "update_window_end_hour",
    "solar_window_start_hour", "solar_window_end_hour", "battery_adc_pin",
)

GITHUB_DEFAULTS = {
    "owner": "",
    "repo": "",
    "channel": "stable",
    "branch": "main",
    "subdir": "",
    "token_file": "",
    "api_url": "https://api.github.com",
    "raw_url": "https://raw.githubusercontent.com",
    "allow_unsigned": False,
    "max_tree_kb": 100,
    "max_tree_files": 250,
}

# Linux agent keys with no meaning on a board, and what to use instead.
_LINUX_ONLY = {
    "battery_path": "battery_adc_pin, or run(battery=function)",
    "battery_command": "battery_adc_pin, or run(battery=function)",
    "watchdog_device": "watchdog_timeout_ms (machine.WDT)",
    "pre_install": "nothing: the application decides at its next boot",
    "post_install": "nothing: the application decides at its next boot",
    "restart_command": "nothing: the board resets itself after an update",
    "health_command": "ferry.confirm() in your application once it is healthy",
    "health_file": "ferry.confirm() in your application once it is healthy",
    "health_timeout_sec": "max_trial_boots",
    "layout": "nothing: littlefs has no symbolic links, so a board installs in place (journaled renames)",
}


class ConfigError(ValueError):
    pass


class Section:
    # The values of one table of ferry.json, as attributes. No methods: a
    # config held by the cycle does not hold this module's code.
    pass


def _section(values):
    s = Section()
    for k in values:
        setattr(s, k, values[k])
    return s


def load(path="/ferry.json"):
    # Read and check the config file at path; raise ConfigError naming
    # the file and the key.
    try:
        f = open(path)
    except OSError:
        raise ConfigError("%s: not found: create it (see the README's MicroPython boards section)" % path)
    try:
        if f.seek(0, 2) > MAX_SIZE:
            raise ConfigError("%s: over %d bytes" % (path, MAX_SIZE))
        f.seek(0)
        try:
            doc = json.load(f)
        except ValueError as e:
            raise ConfigError("%s: not valid JSON (%s)" % (path, e))
    finally:
        f.close()
    try:
        return parse(doc, _dirname(path))
    except ConfigError as e:
        raise ConfigError("%s: %s" % (path, e))


def parse(doc, base="/"):
    # Check a decoded ferry.json document and return a Section with every
    # key of DEFAULTS set; relative paths are resolved against base.
    if not isinstance(doc, dict):
        raise ConfigError("want a JSON object {...} at the top")
    vals = _merge(doc, DEFAULTS, "")
    gh = doc.get("github")
    if gh is not None:
        if not isinstance(gh, dict):
            raise ConfigError("github: want an object {\"owner\": ..., \"repo\": ...}")
        vals["github"] = _section(_merge(gh, GITHUB_DEFAULTS, "github."))
    c = _section(vals)
    c.links = _links(doc)  # issue #17: a links.Policy, or None
    _resolve(c, base)
    _check(c)
    return c


def _merge(doc, defaults, prefix):
    for k in doc:
        if k not in defaults:
            if k in _LINUX_ONLY:
                raise ConfigError("%s%s: not for MicroPython boards; use %s" % (prefix, k, _LINUX_ONLY[k]))
            raise ConfigError("unknown key %s%s: check the spelling against the README" % (prefix, k))
    out = {}
    for k in defaults:
        d = defaults[k]
        v = doc.get(k, d)
        if k != "github" and k not in _LINK_KEYS:
            _typecheck(prefix + k, v, d)
        out[k] = v
    return out


def _typecheck(name, v, d):
    key = name.split(".")[-1]
    if d is None:
        if v is not None and (type(v) is not int):
            raise ConfigError("%s: want a whole number, got %s" % (name, json.dumps(v)))
        return
    t = type(d)
    if t is float and type(v) is int:
        return
    if type(v) is not t:
        want = {int: "a whole number", bool: "true or false", str: "a string",
                list: "a list of strings", float: "a number"}[t]
        raise ConfigError("%s: want %s, got %s" % (name, want, json.dumps(v)))
    if t is list:
        for x in v:
            if type(x) is not str or not x:
                raise ConfigError("%s: want a list of non-empty strings, got %s" % (name, json.dumps(x)))
    if t is int and v < 0 and key != "utc_offset_min":
        raise ConfigError("%s: %d: must be >= 0" % (name, v))


def _links(doc):
    # The link keys (issue #17), checked by links.py, imported only when set.
    for k in _LINK_KEYS:
        if k in doc:
            from ferry import links, mods
            mods.pin("links")  # the config keeps a links.Policy: one copy of links serves all
            try:
                return links.parse(doc)
            except links.LinkError as e:
                raise ConfigError(str(e))
    return None


def _dirname(p):
    i = p.rfind("/")
    return p[: i + 1] if i > 0 else "/"


def _abs(p, base):
    if not p or p.startswith("/"):
        return _clean(p)
    return _clean(base.rstrip("/") + "/" + p)


def _clean(p):
    # Normalise "/a//b/./c/" to "/a/b/c" ("/" stays "/"); ".." is refused
    # by _check before a path is used, so it is kept here.
    if not p:
        return p
    parts = [x for x in p.split("/") if x and x != "."]
    return "/" + "/".join(parts)


def _resolve(c, base):
    c.target = _abs(c.target, base)
    c.state = _abs(c.state, base)
    c.root_keys = [_abs(k, base) for k in c.root_keys]
    if c.github is not None and c.github.token_file:
        c.github.token_file = _abs(c.github.token_file, base)


def _bad(key, why):
    raise ConfigError("%s: %s" % (key, why))


def _check(c):
    gh = c.github
    if not c.origin and gh is None:
        _bad("origin", "missing: set \"origin\": \"http://host/path/\", or a \"github\" table")
    if c.origin and gh is not None:
        _bad("origin", "set either origin or github, not both")
    if c.origin and not (c.origin.startswith("http://") or c.origin.startswith("https://")):
        _bad("origin", "%s: want an http:// or https:// URL" % json.dumps(c.origin))
    if not c.channel or "/" in c.channel:
        _bad("channel", "%s: want a channel name like \"stable\"" % json.dumps(c.channel))
    for k in ("target", "state"):
        if ".." in getattr(c, k).split("/"):
            _bad(k, "%s: \"..\" is not allowed" % json.dumps(getattr(c, k)))
    if not c.root_keys and not (gh is not None and gh.allow_unsigned):
        _bad("root_keys", "missing: the pinned root.pub made by `ferry keygen`, e.g. [\"/root.pub\"]")
    if c.root_threshold < 1:
        _bad("root_threshold", "must be at least 1")
    if c.max_backoff_sec < c.backoff_sec:
        _bad("max_backoff_sec", "must be >= backoff_sec")
    for k in ("max_files", "max_file_mb", "max_total_mb", "max_manifest_kb", "check_interval_sec"):
        if getattr(c, k) < 1:
            _bad(k, "must be at least 1")
    _check_state(c)
    for a in c.allow:
        if a.startswith("/") or ".." in a.split("/"):
            _bad("allow", "entry %s: want a relative path like \"main.py\" or \"lib/\"" % json.dumps(a))
    _check_daemon(c)
    if gh is not None:
        _check_github(gh)


def _check_state(c):
    t, s = c.target, c.state
    inside = t == "/" or s == t or s.startswith(t + "/")
    if not inside:
        return
    rel = s[len(t):].lstrip("/")
    if not rel.startswith(".ferry"):
        _bad("state", "%s is inside target %s: use a folder named .ferry... inside it, or one outside it"
             % (json.dumps(s), json.dumps(t)))


def _check_daemon(c):
    for k in _OPTIONAL_INT:
        v = getattr(c, k)
        if v is not None and k.endswith("_hour") and not 0 <= v <= 23:
            _bad(k, "%d: want an hour 0..23" % v)
    for a, b in (("update_window_start_hour", "update_window_end_hour"),
                 ("solar_window_start_hour", "solar_window_end_hour")):
        if (getattr(c, a) is None) != (getattr(c, b) is None):
            _bad(a[: -len("_start_hour")] + "_start_hour/end_hour", "set both hours of the window, or neither")
    if c.power_source not in ("mains", "battery", "solar"):
        _bad("power_source", "%s: want \"mains\", \"battery\" or \"solar\"" % json.dumps(c.power_source))
    if c.min_battery_percent > 100:
        _bad("min_battery_percent", "%d: want 0..100" % c.min_battery_percent)
    if not -840 <= c.utc_offset_min <= 840:
        _bad("utc_offset_min", "%d: want minutes from -840 to 840" % c.utc_offset_min)
    if c.battery_full_mv <= c.battery_empty_mv:
        _bad("battery_full_mv", "must be above battery_empty_mv")
    if c.battery_divider <= 0:
        _bad("battery_divider", "must be above 0")
    if c.watchdog_timeout_ms and not 1000 <= c.watchdog_timeout_ms <= 8388:
        _bad("watchdog_timeout_ms", "%d: want 0 (off) or 1000..8388 (the RP2040's longest is 8388)" % c.watchdog_timeout_ms)
    if c.max_trial_boots < 1:
        _bad("max_trial_boots", "must be at least 1")
    if c.error_history_limit < 1:
        _bad("error_history_limit", "must be at least 1")


def _check_github(g):
    if not g.owner or not g.repo:
        _bad("github", "owner and repo are required")
    if g.channel not in ("stable", "developer"):
        _bad("github.channel", "%s: want \"stable\" or \"developer\"" % json.dumps(g.channel))
    if g.channel == "developer" and not g.allow_unsigned:
        _bad("github.channel", "the developer channel is unsigned: set \"allow_unsigned\": true in github to accept it")
    if g.subdir.startswith("/") or ".." in g.subdir.split("/"):
        _bad("github.subdir", "%s: want a relative folder like \"app\"" % json.dumps(g.subdir))
    for k in ("max_tree_kb", "max_tree_files"):
        if getattr(g, k) < 1:
            _bad("github." + k, "must be at least 1")


def allowed(c, path):
    # Whether path is managed under the allow filters: every path when
    # allow is empty, else a path equal to an entry or under one ending "/".
    if not c.allow:
        return True
    for a in c.allow:
        if path == a or (a.endswith("/") and path.startswith(a)):
            return True
    return False
