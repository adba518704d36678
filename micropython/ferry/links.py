# ferry/links.py: links that cost money (issue #17), the board's copy of the
# Linux agent's internal/link: the same keys, the same decision, the same
# one-line reasons.
#
# ferry.json (the keys of agent.toml, with the board's way to reach a link
# instead of interface/modem_port/modem_baud):
#
#   "max_update_cost": 0.50, "monthly_budget": 2.00, "max_wait_for_free_hours": 6,
#   "transport": [
#     {"name": "wifi", "kind": "wifi", "cost_per_mb": 0, "ssid": "farm", "password": "..."},
#     {"name": "cellular", "kind": "cellular", "cost_per_mb": 0.5,
#      "uart": 1, "tx": 4, "rx": 5, "baud": 115200, "apn": "iot.example"},
#     {"name": "cable", "kind": "ethernet"},
#     {"name": "lora", "kind": "lora", "uart": 0, "tx": 0, "rx": 1, "baud": 9600, "lora_module": "e5"}]
#
# Which link: the links that can carry data (not lora: a trigger only, see
# lora.py) are tried cheapest first (the list's order breaks ties), each for
# up to its up_timeout_sec (default 30), through a driver per kind
# (linkup.py: network.WLAN, a modem on a UART then network.PPP, network.LAN;
# tests pass fakes); the first that is up carries the cycle.
#
# Whether to pay: over a free link the update goes ahead. Over a costly one it
# is deferred while a free link may still come (until max_wait_for_free_hours,
# default 24, after the release was first seen: decided before the manifest
# is fetched), when its cost is over max_update_cost, or over what is left of
# monthly_budget this month (ledger.py). The bytes asked about are what the
# cycle already fetched for the update (the manifest) plus the compressed size
# (zsize, signed in the manifest) of every file the plan must fetch. Over a
# costly link files come as blobs only (cycle.py: the board's .mpatch is not
# capped by zsize, so it would be a guess), and the figure is exact; over a
# free link a file in place may be patched. The board has no bundle. The
# manifest itself (or its .mpatch) is fetched before the decision: a deferred
# update costs its manifest, each check. A megabyte is 1,000,000 bytes, as
# carriers bill. What was downloaded over a costly link is charged to the
# month (ledger.py), the manifest of a deferred update too; the channel poll
# is not (as on Linux: most often a body-less 304).
# The reason is one line, as on Linux:
#   1.2 MB over cellular costs 0.60; budget left this month 0.25

from ferry import ledger

KINDS = ("wifi", "cellular", "ethernet", "lora")
DEFAULT_UP_TIMEOUT_SEC = 30
DEFAULT_WAIT_HOURS = 24.0
DEFAULT_BAUD = 115200
POLL_MS = 250  # a link that is down is probed again this often while it is waited for
DRIVERS = None  # kind -> probe(transport) -> State; None: linkup.drivers() (tests set fakes)

# Keys of a transport on a board, by kind ("*": every kind).
_KEYS = {
    "*": ("name", "kind", "cost_per_mb", "up_timeout_sec"),
    "wifi": ("ssid", "password"),
    "cellular": ("uart", "tx", "rx", "baud", "apn"),
    "ethernet": (),
    "lora": ("uart", "tx", "rx", "baud", "lora_module"),
}
_LINUX_ONLY = {
    "interface": "nothing: a board's link is its driver (wifi: ssid, password; cellular: uart, apn)",
    "modem_port": "uart (the UART number), tx and rx (pins)",
    "modem_baud": "baud",
}
LORA_MODULES = ("rui3", "e5", "reyax")


class LinkError(ValueError):
    pass


class Transport:
    def __init__(self, d):
        self.name = d["name"]
        self.kind = d["kind"]
        self.cost_per_mb = d.get("cost_per_mb", 0)
        self.up_timeout_sec = d.get("up_timeout_sec", DEFAULT_UP_TIMEOUT_SEC)
        self.ssid = d.get("ssid", "")
        self.password = d.get("password", "")
        self.uart = d.get("uart")
        self.tx = d.get("tx")
        self.rx = d.get("rx")
        self.baud = d.get("baud", DEFAULT_BAUD)
        self.apn = d.get("apn", "")
        self.module = d.get("lora_module", "rui3")


class Policy:
    # The link keys of ferry.json: transports (in order of preference),
    # max_update_cost and monthly_budget (None: no limit), wait_hours.
    def __init__(self, transports, max_update_cost=None, monthly_budget=None, wait_hours=DEFAULT_WAIT_HOURS):
        self.transports = transports
        self.max_update_cost = max_update_cost
        self.monthly_budget = monthly_budget
        self.wait_hours = wait_hours

    def data_links(self):
        # The links that can carry data, cheapest first, the list's order
        # breaking ties (MicroPython's sort is not stable: the index is a key).
        ls = [(t.cost_per_mb, i, t) for i, t in enumerate(self.transports) if t.kind != "lora"]
        ls.sort(key=lambda x: (x[0], x[1]))
        return [x[2] for x in ls]

    def lora(self):
        for t in self.transports:
            if t.kind == "lora":
                return t
        return None


def _num(v):
    return type(v) in (int, float)


def parse(doc):
    # The Policy of a decoded ferry.json (None when it has no transport);
    # LinkError names the key and the fix.
    for k in ("max_update_cost", "monthly_budget", "max_wait_for_free_hours"):
        v = doc.get(k)
        if v is not None and (not _num(v) or v < 0 or v != v or v == float("inf")):
            raise LinkError("%s: %r: want a number >= 0" % (k, v))
    ts = doc.get("transport")
    if ts is None:
        return None
    if not isinstance(ts, list):
        raise LinkError("transport: want a list of links [{\"name\": ..., \"kind\": ...}]")
    seen, out = {}, []
    for i, d in enumerate(ts):
        if not isinstance(d, dict):
            raise LinkError("transport[%d]: want an object {\"name\": ..., \"kind\": ...}" % i)
        key, why = _problem(d, seen)
        if key:
            raise LinkError("transport[%d].%s: %s" % (i, key, why))
        seen[d["name"]] = True
        out.append(Transport(d))
    w = doc.get("max_wait_for_free_hours")
    return Policy(out, doc.get("max_update_cost"), doc.get("monthly_budget"),
                  DEFAULT_WAIT_HOURS if w is None else w)


def _problem(d, seen):
    # The key of link d that is wrong and why, or ("", "").
    name, kind = d.get("name"), d.get("kind")
    if type(name) is not str or not name:
        return "name", "missing: give each transport a name, like \"wifi\" or \"cellular\""
    if name in seen:
        return "name", "%r is used by an earlier transport" % name
    if kind not in KINDS:
        return "kind", "%r: want \"wifi\", \"cellular\", \"ethernet\" or \"lora\"" % (kind,)
    for k in d:
        if k in _LINUX_ONLY:
            return k, "not for MicroPython boards; use %s" % _LINUX_ONLY[k]
        if k not in _KEYS["*"] and k not in _KEYS[kind]:
            return k, "unknown for a %s link: want one of %s" % (kind, ", ".join(_KEYS["*"] + _KEYS[kind]))
    c = d.get("cost_per_mb", 0)
    if not _num(c) or c < 0 or c != c or c == float("inf"):
        return "cost_per_mb", "%r: want a number >= 0 (0 is free)" % (c,)
    for k in ("up_timeout_sec", "uart", "tx", "rx", "baud"):
        v = d.get(k)
        if v is not None and (type(v) is not int or v < 0):
            return k, "%r: want a whole number >= 0" % (v,)
    if d.get("baud") is not None and not 0 < d["baud"] <= 4000000:
        return "baud", "%d: want a baud rate like 9600 or 115200" % d["baud"]
    for k in ("ssid", "password", "apn", "lora_module"):
        if k in d and type(d[k]) is not str:
            return k, "want a string"
    if kind == "wifi" and not d.get("ssid"):
        return "ssid", "missing: the WiFi network's name"
    if kind in ("cellular", "lora") and d.get("uart") is None:
        return "uart", "missing: the UART number the %s is wired to, like 1" % ("modem" if kind == "cellular" else "LoRa module")
    if kind == "lora" and d.get("lora_module", "rui3") not in LORA_MODULES:
        return "lora_module", "%r: want \"rui3\" (RAK3172), \"e5\" (Seeed LoRa-E5) or \"reyax\"" % (d["lora_module"],)
    return "", ""


# Formats of the reason line (internal/link/cost.go).

def cost(n, per_mb):
    return n / 1e6 * per_mb


def size(n):
    mb = n / 1e6
    return ("%.2f MB" if mb < 0.1 else "%.1f MB") % mb


def money(v):
    return "%.2f" % v


class State:
    # What is known of one link at one moment: up, or why it is down;
    # signal ("RSSI -61 dBm", "CSQ 17 (-79 dBm), registered (home), Op") or "";
    # keep: an object the link needs alive for the cycle (a network.PPP).
    def __init__(self, name, up=False, why="", signal="", keep=None):
        self.name, self.up, self.why, self.signal, self.keep = name, up, why, signal, keep


def wait_up(probe, t, sleep_ms):
    # Probe t until it is up or its up_timeout_sec has passed.
    deadline = t.up_timeout_sec * 1000
    waited = 0
    while True:
        try:
            s = probe(t)
        except Exception as e:  # a driver's OSError: the link is down, the cycle goes on
            s = State(t.name, why="%s: %r" % (t.kind, e))
        if s.up or waited >= deadline:
            if not s.up and deadline > 0:
                s.why += " (waited %ds)" % t.up_timeout_sec
            return s
        sleep_ms(POLL_MS)
        waited += POLL_MS


class Manager:
    # drivers: kind -> probe(transport) -> State (linkup.drivers() on a
    # board). now: unix seconds. off: utc_offset_min * 60 (local time).
    def __init__(self, policy, ledger_, drivers, now, sleep_ms, offset_min=0):
        self.pol = policy
        self.ledger = ledger_
        self.drivers = drivers
        self.now = now
        self.sleep_ms = sleep_ms
        self.off = offset_min * 60

    def begin(self):
        # Probe the data links, cheapest first; the first that is up
        # carries the cycle.
        c = Cycle(self)
        for t in self.pol.data_links():
            drv = self.drivers.get(t.kind)
            if drv is None:
                s = State(t.name, why="no driver for %s on this board" % t.kind)
            else:
                s = wait_up(drv, t, self.sleep_ms)
            c.states.append(s)
            if s.up:
                c.link = t
                break
        return c


class Cycle:
    # The link of one update cycle: link (None: none is up), states (every
    # data link probed, in the order tried).
    def __init__(self, m):
        self.m = m
        self.link = None
        self.states = []

    def name(self):
        return self.link.name if self.link else ""

    def free(self):
        return self.link is not None and self.link.cost_per_mb == 0

    def signal(self):
        return self.states[-1].signal if self.link else ""

    def down(self):
        # Why no link is up, or "" when one is.
        if self.link is not None:
            return ""
        if not self.states:
            return "no link configured can carry data (a lora link is a trigger only)"
        return "no link is up (%s)" % "; ".join(s.name + ": " + s.why for s in self.states)

    def free_link(self):
        for t in self.m.pol.data_links():
            if t.cost_per_mb == 0:
                return t.name
        return ""

    def wait(self, key):
        # Why the release key (its manifest digest, hex) must still wait for
        # a free link, or "". Needs no byte count: asked before the manifest.
        m = self.m
        if self.link is None or self.free() or m.pol.wait_hours <= 0:
            return ""
        free = self.free_link()
        if not free:
            return ""
        now = m.now()
        until = m.ledger.first_seen(key, now) + int(m.pol.wait_hours * 3600)
        if now >= until:
            return ""
        return "waiting for a free link (%s) until %s; %s costs %s per MB" % (
            free, _local(until, m.off), self.link.name, money(self.link.cost_per_mb))

    def allow(self, key, n):
        # "" to go ahead with an update of n bytes, else the one-line reason
        # to defer it. Raises ledger.LedgerError for a damaged ledger.
        if self.link is None:
            return self.down()
        if self.free():
            return ""
        why = self.wait(key)
        if why:
            return why
        m, lk = self.m, self.link
        c = cost(n, lk.cost_per_mb)
        head = "%s over %s costs %s" % (size(n), lk.name, money(c))
        pol = m.pol
        if pol.max_update_cost is not None and c > pol.max_update_cost:
            return "%s; max_update_cost is %s" % (head, money(pol.max_update_cost))
        if pol.monthly_budget is not None:
            left = max(pol.monthly_budget - m.ledger.spent(m.now()), 0)
            if c > left:
                return "%s; budget left this month %s" % (head, money(left))
        return ""

    def over_budget(self, plan, key, res):
        # Whether the planned update (a ferry.install transaction) is put
        # off: its bytes are what res.downloaded holds (the manifest) plus
        # the zsize of every file to fetch; res.deferred says why.
        n = res.downloaded
        for op in plan.needed():
            n += op.zsize
        res.deferred = self.allow(key, n)
        return bool(res.deferred)

    def charge(self, n):
        # Record what n bytes over the cycle's link cost.
        if self.link is None or n <= 0 or self.free():
            return
        self.m.ledger.charge(cost(n, self.link.cost_per_mb), self.m.now())


def over(cy, result):
    # The links hook of a ferry.cycle.Cycle cy: its cycle() over the
    # cheapest link up (none up: deferred); what was downloaded is charged,
    # success or not (a damaged ledger fails only a cycle that succeeded).
    m = manager(cy.cfg)
    cy.links = m.begin()
    if m.drivers is not DRIVERS:  # the board's drivers: their code goes (a PPP stays in its State)
        m.drivers = None
        _drop("linkup", "modem")
    cy.log("link", cy.links.name() or "none", cy.links.signal())
    if cy.links.link is None:
        cy.res = result(None)
        cy.res.deferred = cy.links.down()
        remember(cy.cfg.state, cy.links, False, None)
        uplink(cy.cfg)
        return
    ok = False
    try:
        yield from cy.cycle()
        ok = True
    finally:
        for s in cy.links.states:  # a PPP session this cycle opened is closed: it may cost
            if s.keep is not None and hasattr(s.keep, "disconnect"):
                try:
                    s.keep.disconnect()
                except Exception:
                    pass
        res = getattr(cy, "res", None)
        if res is not None:
            res.link = cy.links.name()
            remember(cy.cfg.state, cy.links, res.up_to_date, _code(res, ok))
            try:
                cy.links.charge(res.downloaded)
            except Exception:
                if ok:
                    raise


LINK = "link.json"  # the last cycle's link and signal, for status


def _drop(*names):
    # Forget ferry modules whose objects are gone, so that a collection
    # frees their code (a board holds .py/.mpy code in the heap).
    import sys
    import ferry
    from ferry import mods
    for n in names:
        if mods.pinned(n):  # a live object uses it (run()'s lora.Listener)
            continue
        sys.modules.pop("ferry." + n, None)
        if n in ferry.__dict__:
            delattr(ferry, n)
    import gc
    gc.collect()


def _code(res, ok):
    # The result code of lora.py's status uplink.
    if not ok:
        return "error"
    if res.deferred:
        return "deferred"
    return "up-to-date" if res.up_to_date else "updated"


def remember(state, c, quiet, result):
    # Keep the cycle's link, its signal and its result (None: unchanged)
    # for status() and the LoRa uplink. A poll with nothing new (quiet)
    # writes it only when the link changed: such a poll writes nothing but
    # the last-check record.
    from ferry import board, records
    old = records.read_json(state, LINK) or {}
    if quiet and old.get("link") == c.name():
        return
    old.update({"link": c.name(), "signal": c.signal(), "at": board.now(), "down": c.down()})
    if result is not None:
        old["result"] = result
    records.write_json(state, LINK, old)


def uplink(cfg):
    # With no data link up and a lora link configured: the status uplink
    # (lora.py: the installed sequence and the last result), at most once
    # per lora.UPLINK_MIN_SEC. A failing module never fails the cycle.
    t = cfg.links.lora()
    if t is None:
        return None
    from ferry import board, install, lora, records
    st = records.read_json(cfg.state, LINK) or {}
    now = board.now()
    if now - st.get("uplink_at", 0) < lora.UPLINK_MIN_SEC:
        return None
    rec = install.Installer(target=cfg.target, state=cfg.state).installed() or {}
    try:
        p = lora.send_status(lora.open_uart(t), t.module, st.get("result", "never"),
                             rec.get("sequence", 0), rec.get("version", ""))
    except Exception:
        return None
    finally:
        if lora.UART is None:
            _drop("lora")
    st["uplink_at"] = now
    records.write_json(cfg.state, LINK, st)
    return p


def status_lines(cfg):
    # What status() shows of the links: the last cycle's link and signal,
    # and this month's spending ("link: cellular used; signal CSQ 17 (-79
    # dBm), registered (home), Op (at ...)", "budget: spent 0.35 this month
    # of 2.00").
    from ferry import records
    out = []
    r = records.read_json(cfg.state, LINK)
    if r is None:
        out.append("link:          none used yet")
    elif r.get("link"):
        sig = "; signal " + r["signal"] if r.get("signal") else "; signal unknown"
        out.append("link:          %s used%s (at %s)" % (r["link"], sig, _utc(r.get("at", 0))))
    else:
        out.append("link:          %s (at %s)" % (r.get("down", "none up"), _utc(r.get("at", 0))))
    pol = cfg.links
    try:
        spent = money(ledger.Ledger(cfg.state, cfg.utc_offset_min).spent())
    except ledger.LedgerError as e:
        spent = str(e)
    of = " of " + money(pol.monthly_budget) if pol.monthly_budget is not None else " (no monthly_budget)"
    out.append("budget:        spent %s this month%s" % (spent, of))
    return out


def _utc(t):
    from ferry import board
    g = board.gmtime(t)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % g[:6]


def _local(t, off):
    from ferry import board
    g = board.gmtime(t + off)
    return "%04d-%02d-%02d %02d:%02d" % (g[0], g[1], g[2], g[3], g[4])


def manager(cfg, drivers=None, sleep_ms=None):
    # The Manager of a config with transports (cfg.links, a Policy), over
    # the board's drivers unless others are given.
    from ferry import board
    if drivers is None:
        drivers = DRIVERS
    if drivers is None:
        from ferry import linkup
        drivers = linkup.drivers()
    if sleep_ms is None:
        import time
        sleep_ms = time.sleep_ms
    return Manager(cfg.links, ledger.Ledger(cfg.state, cfg.utc_offset_min), drivers, board.now,
                   sleep_ms, cfg.utc_offset_min)
