# Tests of the links hook in ferry.cycle (issue #17): a cycle over the
# cheapest link up; deferred over budget with the Linux reason line, before
# any file content; allowed within budget, the link in the result line and
# the cost in the ledger. Real MicroPython, with fakeorigin.py for the network:
#   node micropython/runner/exec.mjs micropython/tests/test_links_cycle.py
import fakeorigin

fakeorigin.install()

from fakeorigin import ORIGIN, Publisher  # noqa: E402
from ferry import board, config, cycle, fs, install, ledger, links  # noqa: E402

T = board.now()
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


UP = {"wifi": False, "cellular": True}


class PPP:
    hangups = 0

    def disconnect(self):
        PPP.hangups += 1


def probe(t):
    if UP.get(t.name):
        if t.kind == "cellular":
            return links.State(t.name, True, signal="CSQ 17 (-79 dBm)", keep=PPP())
        return links.State(t.name, True, signal="RSSI -60 dBm")
    return links.State(t.name, why="not connected to farm")


links.DRIVERS = {"wifi": probe, "cellular": probe}


def new_board(**kw):
    d = {"origin": "http://origin.test/", "root_keys": ["/root.pub"], "target": "/lc", "state": "/lc/.ferry",
         "max_wait_for_free_hours": 0, "transport": [
             {"name": "cellular", "kind": "cellular", "cost_per_mb": 500, "uart": 1, "up_timeout_sec": 0},
             {"name": "wifi", "kind": "wifi", "ssid": "farm", "up_timeout_sec": 0}]}
    d.update(kw)
    fs.makedirs(d["target"])
    return config.parse(d)


pub = Publisher(T)
big = "x" * 3000
pub.release("1.0", {"main.py": "print(1)\n", "big.bin": big})
c = new_board(monthly_budget=1)
ORIGIN.log = []
r = cycle.run(c)
s = str(r)
# 3000 + 9 bytes of content plus the manifest, at 500 per MB: over 1.50.
check("deferred over budget", s.startswith("deferred 1.0 (0.00 MB over cellular costs 1.") and
      s.endswith("; budget left this month 1.00)"), s)
check("no content fetched", not [p for p in ORIGIN.log if p.startswith("blobs/")], ORIGIN.log)
check("nothing installed", install.Installer(c.target, c.state).installed() is None)
check("the PPP session is closed after the cycle", PPP.hangups == 1, PPP.hangups)
spent = ledger.Ledger(c.state).spent()
mbytes = len(ORIGIN.files["releases/1.0/manifest.note"])
check("the manifest is charged", abs(spent - mbytes / 1e6 * 500) < 1e-6, (spent, mbytes))

# Within budget: installed over cellular, charged what was downloaded.
c = new_board(monthly_budget=100)
r = cycle.run(c)
check("allowed over cellular", str(r).startswith("updated (none) -> 1.0 (2 files, ") and str(r).endswith(" bytes over cellular)"), r)
spent2 = ledger.Ledger(c.state).spent()
check("the update is charged", abs(spent2 - spent - r.downloaded / 1e6 * 500) < 1e-6, (spent, spent2, r.downloaded))
install.Installer(c.target, c.state).confirm()

st = links.status_lines(c)
check("status: link and signal", st[0].startswith("link:          cellular used; signal CSQ 17 (-79 dBm) (at "), st)
check("status: budget", st[1] == "budget:        spent %s this month of 100.00" % links.money(spent2), st)
before = fs.read_small(c.state + "/link.json", 512)
r = cycle.run(c)
check("a quiet poll keeps link.json", str(r) == "up to date (1.0)" and fs.read_small(c.state + "/link.json", 512) == before, r)

# The free link is taken when it is up, and nothing is charged.
UP["wifi"] = True
pub.release("2.0", {"main.py": "print(2)\n", "big.bin": big})
r = cycle.run(new_board(monthly_budget=0))
check("free wifi: any budget", str(r).startswith("updated 1.0 -> 2.0 (1 files, ") and str(r).endswith("over wifi)"), r)
check("wifi not charged", abs(ledger.Ledger(c.state).spent() - spent2) < 1e-9)
from fakeorigin import hexsha  # noqa: E402
check("over wifi a file in place is patched", [p for p in ORIGIN.log if p.endswith(hexsha(b"print(2)\n") + ".mpatch")], ORIGIN.log)
install.Installer(c.target, c.state).confirm()

# A costly link waits for a free one (before the manifest is fetched).
UP["wifi"] = False
pub.release("3.0", {"main.py": "print(3)\n", "big.bin": big})
ORIGIN.log = []
r = cycle.run(new_board(monthly_budget=100, max_wait_for_free_hours=6))
check("waiting for free", str(r).startswith("deferred 3.0 (waiting for a free link (wifi) until "), r)
check("no manifest fetched while waiting", "releases/3.0/manifest.note" not in ORIGIN.log, ORIGIN.log)

# Over a costly link files come as blobs only (the price is their signed zsize; a .mpatch is not capped by it).
ORIGIN.log = []
r = cycle.run(new_board(monthly_budget=100))
check("3.0 over cellular", str(r).startswith("updated 2.0 -> 3.0 (1 files, ") and str(r).endswith("over cellular)"), r)
check("no file patch over cellular", not [p for p in ORIGIN.log if p.endswith(hexsha(b"print(3)\n") + ".mpatch")], ORIGIN.log)
install.Installer(c.target, c.state).confirm()
pub.release("4.0", {"main.py": "print(4)\n", "big.bin": big})

# No link up: deferred, naming each link.
UP["cellular"] = False
r = cycle.run(new_board())
check("no link up", str(r) == "deferred (no link is up (wifi: not connected to farm; cellular: not connected to farm))", r)
check("status: no link up", links.status_lines(c)[0].startswith("link:          no link is up (wifi: "), links.status_lines(c))

# With a lora link and no data link up: one status uplink (installed
# sequence 3, last result "updated"), then none within the hour.
class LoRaUART:
    sent = []

    def __init__(self, t):
        self.t = t

    def write(self, b):
        LoRaUART.sent.append((self.t.module, bytes(b)))


from ferry import lora  # noqa: E402

lora.UART = LoRaUART
lc = new_board(transport=[{"name": "wifi", "kind": "wifi", "ssid": "farm", "up_timeout_sec": 0},
                          {"name": "lora", "kind": "lora", "uart": 0, "lora_module": "e5"}])
r = cycle.run(lc)
check("lora only: deferred", str(r).startswith("deferred (no link is up (wifi: "), r)
want = 'AT+MSGHEX="%s"\r\n' % ("46550100000000000000" + "03")
check("status uplink sent", LoRaUART.sent == [("e5", want.encode())], LoRaUART.sent)
cycle.run(lc)
check("one uplink an hour", len(LoRaUART.sent) == 1, LoRaUART.sent)

# Without transports nothing changes.
r = cycle.run(new_board(transport=None, max_wait_for_free_hours=None))
check("no transports: plain cycle", str(r).startswith("updated 3.0 -> 4.0") and "over" not in str(r), r)

if failures:
    raise SystemExit(1)
print("ok test_links_cycle")
