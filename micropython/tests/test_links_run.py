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

if failures:
    raise SystemExit(1)
print("ok test_links_run")
