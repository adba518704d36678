# Tests of ferry.links and ferry.ledger (issue #17), in real MicroPython:
# node micropython/runner/exec.mjs micropython/tests/test_links.py
# The cases of internal/link's link_test.go, on the board.
from ferry import ledger, links

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


H = 3600
T0 = 1796040000  # 2026-11-30 12:00 UTC
N = [0]


def state():
    N[0] += 1
    return "/.ferry-links-%d" % N[0]


class Fake:
    # Which links are up; a link in slow comes up after n probes.
    def __init__(self, up=(), slow=None):
        self.up = up
        self.slow = slow or {}
        self.probes = {}

    def probe(self, t):
        n = self.probes[t.name] = self.probes.get(t.name, 0) + 1
        if t.name in self.up or (self.slow.get(t.name, 0) and n > self.slow[t.name]):
            return links.State(t.name, True, signal="RSSI -60 dBm")
        return links.State(t.name, why="%s is down" % t.name)


def drivers(f):
    return {"wifi": f.probe, "cellular": f.probe, "ethernet": f.probe}


DOC = {"transport": [
    {"name": "lora", "kind": "lora", "uart": 0},
    {"name": "cellular", "kind": "cellular", "cost_per_mb": 0.5, "uart": 1, "up_timeout_sec": 1},
    {"name": "wifi", "kind": "wifi", "ssid": "farm", "up_timeout_sec": 2},
]}


def manager(fake, clock, **pol):
    d = dict(DOC)
    d.update(pol)
    return links.Manager(links.parse(d), ledger.Ledger(state(), 0, lambda: clock[0]), drivers(fake),
                         lambda: clock[0], lambda ms: None)


KEY = "01" + "00" * 31

# Cheapest up, fallback, waiting for a slow link, none up.
clock = [T0]
m = manager(Fake(up=("wifi", "cellular")), clock)
c = m.begin()
check("cheapest up: wifi", c.name() == "wifi" and c.free(), c.name())
check("cheapest up: allowed", c.allow(KEY, 5 * 10 ** 9) == "")
f = Fake(up=("cellular",))
m.drivers = drivers(f)
c = m.begin()
check("fallback to cellular", c.name() == "cellular", c.name())
check("wifi probed for its whole timeout (2 s = 8 + 1)", f.probes.get("wifi") == 9, f.probes)
check("why names the wait", "waited 2s" in c.states[0].why, c.states[0].why)
m.drivers = drivers(Fake(up=("cellular",), slow={"wifi": 3}))
check("a slow wifi is waited for", m.begin().name() == "wifi")
m.drivers = drivers(Fake())
c = m.begin()
want = "no link is up (wifi: wifi is down (waited 2s); cellular: cellular is down (waited 1s))"
check("no link up", c.allow(KEY, 10) == want, c.allow(KEY, 10))
def boom(t):
    raise OSError(110)


m.drivers = {"wifi": boom, "cellular": Fake(up=("cellular",)).probe}
c = m.begin()
check("a driver that raises: link down, next tried", c.name() == "cellular" and c.states[0].why.startswith("wifi: OSError(110"), c.states[0].why)
m.drivers = {}
check("no driver", "no driver for wifi" in m.begin().down(), m.begin().down())
m.pol.transports = m.pol.transports[:1]
check("lora only", m.begin().down() == "no link configured can carry data (a lora link is a trigger only)")

# The decision table of TestDecision.
CELL = ("cellular",)
for name, up, pol, spent, after, n, want in (
        ("free link, any size", ("wifi", "cellular"), {"max_update_cost": 0}, 0, 0, 5 * 10 ** 9, ""),
        ("over the month's budget", CELL, {"monthly_budget": 1}, 0.75, 0, 1200000,
         "1.2 MB over cellular costs 0.60; budget left this month 0.25"),
        ("within the month's budget", CELL, {"monthly_budget": 1}, 0.35, 0, 1200000, ""),
        ("budget overspent", CELL, {"monthly_budget": 1}, 1.5, 0, 1000,
         "0.00 MB over cellular costs 0.00; budget left this month 0.00"),
        ("over max_update_cost", CELL, {"max_update_cost": 0.5}, 0, 0, 1200000,
         "1.2 MB over cellular costs 0.60; max_update_cost is 0.50"),
        ("waiting for free", CELL, {"max_wait_for_free_hours": 6}, 0, 5 * H, 1000,
         "waiting for a free link (wifi) until 2026-11-30 18:00; cellular costs 0.50 per MB"),
        ("waited long enough", CELL, {"max_wait_for_free_hours": 6}, 0, 6 * H, 1000, ""),
        ("default wait is 24 h", CELL, {"max_wait_for_free_hours": None}, 0, 23 * H, 1000, "waiting for a free link (wifi) until 2026-12-01 12:00"),
        ("wait 0: pay at once", CELL, {"max_wait_for_free_hours": 0}, 0, 0, 1000, ""),
):
    pol.setdefault("max_wait_for_free_hours", 0)  # Linux's Policy{} waits 0; None: the default 24 h
    clock = [T0]
    m = manager(Fake(up=up), clock, **pol)
    m.ledger.charge(spent, T0)
    c = m.begin()
    c.wait(KEY)  # first seen now
    clock[0] = T0 + after
    got = c.allow(KEY, n)
    check("decision: " + name, got.startswith(want) if want else got == "", got)

# The ledger across months (local time) and reboots, with a fake clock.
st = state()
l = ledger.Ledger(st, 600)  # UTC+10
nov = 1796047140  # 2026-11-30 13:59 UTC = 23:59 local, November
l.charge(0.6, nov)
l = ledger.Ledger(st, 600)  # a reboot
check("ledger kept across a reboot", l.spent(nov) == 0.6, l.spent(nov))
dec = nov + 120  # December 1st local, UTC still November
check("a new month (local) starts from nothing", l.spent(dec) == 0, l.spent(dec))
l.charge(0.25, dec)
check("November unchanged by December", l.spent(nov) == 0.6)
check("UTC would have been November", ledger.Ledger(st, 0).spent(dec) == 0.6)
for i in range(20):
    l.charge(1, dec + (i + 1) * 31 * 86400)
check("twelve months kept", len(l.read()["months"]) == ledger.MONTHS_KEPT, l.read()["months"])
seen = l.first_seen("a", nov)
check("first seen survives a reboot", ledger.Ledger(st, 600).first_seen("a", nov + H) == seen)
check("a newer release starts its own wait", l.first_seen("b", nov + H) == nov + H)
with open(st + "/budget.json", "w") as fh:
    fh.write('{"months":')
try:
    l.spent(nov)
    check("damaged ledger refused", False)
except ledger.LedgerError as e:
    check("damaged ledger refused, naming it", "damaged" in str(e) and "budget.json" in str(e), str(e))
check("charging a free link records nothing", ledger.Ledger(state()).charge(0) is None)

# What a cycle is charged.
clock = [T0]
m = manager(Fake(up=CELL), clock, max_wait_for_free_hours=0)
c = m.begin()
c.charge(1200000)
check("charge over cellular", abs(m.ledger.spent(T0) - 0.6) < 1e-9, m.ledger.spent(T0))
m.drivers = drivers(Fake(up=("wifi",)))
m.begin().charge(10 ** 9)
check("wifi costs nothing", abs(m.ledger.spent(T0) - 0.6) < 1e-9)

# Formats.
for n, want in ((1200000, "1.2 MB"), (40000, "0.04 MB"), (0, "0.00 MB")):
    check("size %d" % n, links.size(n) == want, links.size(n))

# The config: strict, errors naming the key.
for doc, want in (
        ({"transport": {"name": "x"}}, "transport: want a list"),
        ({"transport": [{"kind": "wifi"}]}, "transport[0].name: missing"),
        ({"transport": [{"name": "a", "kind": "wifi", "ssid": "s"}, {"name": "a", "kind": "ethernet"}]},
         "transport[1].name: 'a' is used"),
        ({"transport": [{"name": "a", "kind": "modem"}]}, "transport[0].kind: 'modem': want"),
        ({"transport": [{"name": "a", "kind": "ethernet", "cost_per_mb": -1}]}, "transport[0].cost_per_mb: -1"),
        ({"transport": [{"name": "a", "kind": "wifi"}]}, "transport[0].ssid: missing"),
        ({"transport": [{"name": "a", "kind": "cellular"}]}, "transport[0].uart: missing"),
        ({"transport": [{"name": "a", "kind": "ethernet", "interface": "eth0"}]},
         "transport[0].interface: not for MicroPython boards"),
        ({"transport": [{"name": "a", "kind": "cellular", "uart": 1, "modem_port": "/dev/x"}]},
         "transport[0].modem_port: not for MicroPython boards; use uart"),
        ({"transport": [{"name": "a", "kind": "ethernet", "ssid": "x"}]}, "transport[0].ssid: unknown for a ethernet"),
        ({"transport": [{"name": "a", "kind": "lora", "uart": 0, "lora_module": "x"}]}, "transport[0].lora_module:"),
        ({"transport": [{"name": "a", "kind": "cellular", "uart": 1, "baud": 0}]}, "transport[0].baud:"),
        ({"transport": [], "monthly_budget": -1}, "monthly_budget: -1: want a number >= 0"),
        ({"max_update_cost": "1"}, "max_update_cost:"),
):
    try:
        links.parse(doc)
        check("config refused: " + want, False)
    except links.LinkError as e:
        check("config: " + want, str(e).startswith(want), str(e))
p = links.parse(DOC)
check("defaults", p.wait_hours == 24 and p.max_update_cost is None and p.transports[2].up_timeout_sec == 2
      and p.transports[1].baud == 115200 and p.lora().name == "lora")
check("no transport: no policy", links.parse({}) is None)
check("ties keep the list's order", [t.name for t in links.parse({"transport": [
    {"name": "b", "kind": "ethernet"}, {"name": "a", "kind": "ethernet"}, {"name": "c", "kind": "ethernet", "cost_per_mb": 0.1},
    {"name": "d", "kind": "ethernet"}]}).data_links()] == ["b", "a", "d", "c"])

# The board's drivers are forgotten after the link is chosen (their code
# can then be collected).
import sys  # noqa: E402
import ferry  # noqa: E402
from ferry import linkup  # noqa: E402,F401

links._drop("linkup", "modem")
check("drivers forgotten", "ferry.linkup" not in sys.modules and "ferry.modem" not in sys.modules
      and not hasattr(ferry, "linkup"), [k for k in sys.modules if k.startswith("ferry.")])

# ferry.json through ferry.config: the link keys reach links.py.
from ferry import config

base = {"origin": "http://127.0.0.1/", "root_keys": ["/root.pub"]}
check("config without links", config.parse(dict(base)).links is None)
c = config.parse(dict(base, monthly_budget=2, **DOC))
check("config with links", c.links.monthly_budget == 2 and len(c.links.transports) == 3)
try:
    config.parse(dict(base, transport=[{"name": "w", "kind": "wifi", "ssid": "s", "cost_per_mb": "1"}]))
    check("config refuses a bad link", False)
except config.ConfigError as e:
    check("config names the link key", str(e).startswith("transport[0].cost_per_mb:"), str(e))

if failures:
    raise SystemExit(1)
print("ok test_links")
