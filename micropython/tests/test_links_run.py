# Tests of the links in ferry's entry points (issue #17): one copy of
# ferry.links serves the loaded config and the cycle; ferry.status() shows
# the link last used, its signal and this month's spending. Real
# MicroPython, with fakeorigin.py for the network:
#   node micropython/runner/exec.mjs micropython/tests/test_links_run.py
import json
import sys

import fakeorigin

fakeorigin.install()

import ferry  # noqa: E402
from fakeorigin import Publisher  # noqa: E402
from ferry import board, fs  # noqa: E402

T = board.now()
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


def board_config(d, **kw):
    c = {"origin": "http://origin.test/", "root_keys": ["/root.pub"], "target": d, "state": d + "/.ferry",
         "min_update_interval_sec": 0, "max_wait_for_free_hours": 0, "monthly_budget": 2,
         "transport": [{"name": "cellular", "kind": "cellular", "cost_per_mb": 0.5, "uart": 1, "up_timeout_sec": 0}]}
    c.update(kw)
    fs.makedirs(d)
    p = d + "/ferry.json"
    fs.write_atomic(p, json.dumps(c).encode())
    return p


pub = Publisher(T)
pub.release("1.0", {"main.py": "print(1)\n"})
P = board_config("/lr")

# The loaded config keeps a links.Policy: links is not released with
# config, so the cycle's `from ferry import links` finds the same module.
check("links not imported before", "ferry.links" not in sys.modules)
c = ferry._load(P)
check("config released", "ferry.config" not in sys.modules)
check("links kept while the config holds its Policy", "ferry.links" in sys.modules)
from ferry import links  # noqa: E402

check("one links module", type(c.links) is links.Policy, (type(c.links), links.Policy))


def probe(t):
    return links.State(t.name, True, signal="CSQ 17 (-79 dBm), registered (home), Op")


links.DRIVERS = {"cellular": probe}  # seen by the cycle only if it uses this module
mod = sys.modules["ferry.links"]
r = ferry.update(P, trial=False)
check("cycle over the test's drivers", str(r).startswith("updated (none) -> 1.0") and str(r).endswith("over cellular)"), r)
check("still one links module", sys.modules.get("ferry.links") is mod)

st = ferry.status(P).split("\n")
check("status: link and signal", [x for x in st if x.startswith(
    "link:          cellular used; signal CSQ 17 (-79 dBm), registered (home), Op (at ")], st)
spent = links.ledger.Ledger("/lr/.ferry").spent()
check("status: spending", "budget:        spent %s this month of 2.00" % links.money(spent) in st and spent > 0, (spent, st))
check("still one links module after status", sys.modules.get("ferry.links") is mod)
st = ferry.status(board_config("/ln", transport=None, monthly_budget=None, max_wait_for_free_hours=None)).split("\n")
check("no transports: no link lines", not [x for x in st if x.startswith("link:") or x.startswith("budget:")], st)

# run() with a lora transport: while it waits it polls the module (fake
# UART, fake clock), in short sleeps that feed the watchdog; an accepted
# downlink makes the next check due now, min_update_interval_sec still holds.
from binascii import hexlify  # noqa: E402

from ferry import lora, schedule  # noqa: E402

CLOCK = [T]
board.now = lambda: CLOCK[0]


class Reset(Exception):
    pass


class Late(Exception):
    pass


def reset():
    raise Reset()


board.reset = reset


class UART:
    def __init__(self):
        self.buf = bytearray()
        self.empty_reads = 0
        self.sent = []

    def any(self):
        return len(self.buf)

    def read(self, n):
        if not self.buf:
            self.empty_reads += 1
        b, self.buf = bytes(self.buf[:n]), self.buf[n:]
        return b

    def write(self, b):
        self.sent.append(bytes(b))

    def downlink(self, seq):
        h = hexlify(b"FS" + seq.to_bytes(8, "big")).decode().upper()
        self.buf += ("+EVT:RX_1:-70:8:UNICAST:2:%s\r\n" % h).encode()


U = UART()
lora.UART = lambda t: U


class WDT:
    fed = 0

    def feed(self):
        WDT.fed += 1


SLEEPS = []
AT = {}  # simulated second -> what happens then


def sleep(ms):
    SLEEPS.append(ms)
    CLOCK[0] += ms // 1000
    f = AT.pop(CLOCK[0] - START[0], None)
    if f:
        f()
    if CLOCK[0] - START[0] > 5000:
        raise Late()


START = [T]


def run(p):
    START[0] = CLOCK[0]
    del SLEEPS[:]
    WDT.fed = 0
    try:
        return ferry.run(p, wdt=WDT(), rand=lambda: 0.0, sleep_ms=sleep)
    except Reset:
        return CLOCK[0] - START[0]
    except Late:
        return "late"


TR = [{"name": "cellular", "kind": "cellular", "cost_per_mb": 0.5, "uart": 1, "up_timeout_sec": 0},
      {"name": "lora", "kind": "lora", "uart": 0, "lora_module": "rui3"}]
PL = board_config("/ll", transport=TR, monthly_budget=100)
check("first check at once", run(PL) == 0, SLEEPS)
ferry.confirm(PL)
pub.release("2.0", {"main.py": "print(2)\n"})
AT[5] = lambda: U.downlink(2)  # the channel's sequence 2, 5 s into the wait
took = run(PL)
check("a downlink makes the check due now", took == 5, (took, SLEEPS))
check("short sleeps", SLEEPS and max(SLEEPS) <= lora.LISTEN_MS, SLEEPS)
check("the watchdog is fed each sleep", WDT.fed >= len(SLEEPS), (WDT.fed, len(SLEEPS)))
check("never a blocking read", U.empty_reads == 0, U.empty_reads)
check("updated to 2.0", "2.0" in ferry.status(PL).split("\n")[0], ferry.status(PL))
check("one lora module", sys.modules.get("ferry.lora") is lora)
ferry.confirm(PL)

# A downlink not newer than the installed release is ignored: the wait goes on.
AT[5] = lambda: U.downlink(2)
check("old sequence ignored", run(PL) == "late", SLEEPS[-3:])

# min_update_interval_sec holds; a downlink that comes during a check (here:
# while the link comes up) is not lost: the next check comes once the
# minimum interval is over, not a check_interval_sec later.
PM = board_config("/ll", transport=TR, monthly_budget=100, min_update_interval_sec=30)
during = []


def probe_during(t):
    if during:
        U.downlink(during.pop())
    return links.State(t.name, True, signal="CSQ 17 (-79 dBm)")


links.DRIVERS = {"cellular": probe_during}
CLOCK[0] += 4000  # the previous check is long past: the next is due
during.append(3)
AT[1] = lambda: pub.release("3.0", {"main.py": "print(3)\n"})  # the origin catches up after the check
took = run(PM)
check("trigger during a check, min interval held", took == 30, (took, SLEEPS))
check("updated to 3.0", "3.0" in ferry.status(PM).split("\n")[0], ferry.status(PM))

# Without a lora transport: one sleep to the next check, no UART.
PN = board_config("/ll", min_update_interval_sec=0)
ferry.confirm(PN)
CLOCK[0] += 10
check("no lora: one long sleep", run(PN) == "late" and SLEEPS[0] > lora.LISTEN_MS, SLEEPS[:3])

# No data link up while run() listens: the status uplink goes out on the
# UART it listens to, and lora stays one module (the listener's).
links.DRIVERS = {"cellular": lambda t: links.State(t.name, why="not registered")}
lora.UART = None  # the board's way: links.uplink() would drop lora after its uplink
CLOCK[0] += 4000
out = ferry.run(board_config("/ll", transport=TR, monthly_budget=100), wdt=WDT(), rand=lambda: 0.0, once=True, sleep_ms=sleep)
check("no data link: deferred", out.startswith("deferred (no link is up (cellular: not registered"), out)
check("uplink on the listening UART", len(U.sent) == 1 and U.sent[0].startswith(b"AT+SEND=2:4655"), U.sent)
check("lora not dropped while listened to", sys.modules.get("ferry.lora") is lora)

# Schedule.check_soon, as Linux's CheckSoon: due now, gates hold, kept
# across a check it came during.
s = schedule.Schedule(ferry._load(board_config("/ls", min_update_interval_sec=30)), rand=lambda: 0.5)
s.start(T, T)
s.check_soon(T + 5)
ok, why, nxt = s.decide(T + 5, T)
check("check_soon: min interval holds", not ok and "min_update_interval_sec" in why and nxt == T + 30, (why, nxt - T))
s.begin()
s.check_soon(T + 40)
s.checked(T + 50)
check("trigger during a check: next due at once", s.next == T + 50, s.next - T)
s.begin()
s.checked(T + 60)
check("no trigger: the interval", s.next == T + 60 + 3600, s.next - T)

if failures:
    raise SystemExit(1)
print("ok test_links_run")
