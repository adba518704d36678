# Tests of the package's entry points (ferry.boot, update, confirm, rollback,
# status, run) in real MicroPython, with fakeorigin.py for the network and
# the signatures (see test_update.py):
#   node micropython/runner/exec.mjs micropython/tests/test_ferry.py
import json

import fakeorigin

fakeorigin.install()

import ferry  # noqa: E402
from fakeorigin import ORIGIN, Publisher  # noqa: E402
from ferry import board, fs  # noqa: E402

T = board.now()
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


def board_config(d, **kw):
    c = {"origin": "http://origin.test/", "root_keys": ["/root.pub"], "target": d, "state": d + "/.ferry",
         "max_trial_boots": 2, "min_update_interval_sec": 0}
    c.update(kw)
    fs.makedirs(d)
    p = d + "/ferry.json"
    fs.write_atomic(p, json.dumps(c).encode())
    return p


V1 = {"main.py": "print(1)\n", "lib/a.py": "A = 1\n"}
V2 = {"main.py": "print(2)\n", "lib/b.py": "B = 2\n"}
pub = Publisher(T)
pub.release("1.0", V1)
P = board_config("/fb")

check("boot with nothing installed", ferry.boot(P) == "ok")
r = ferry.update(P)
check("update line", str(r).startswith("updated (none) -> 1.0 (2 files, "), r)
st = ferry.status(P)
check("status: installed", "installed:     1.0 (channel stable, sequence 1" in st, st)
check("status: on trial", "trial:         on trial" in st, st)
check("status: last update logged", "last update:" in st and "updated (none) -> 1.0" in st, st)
check("confirm", ferry.confirm(P) == "confirmed 1.0")
check("confirm twice", ferry.confirm(P).startswith("nothing on trial"))
try:
    ferry.rollback(P)
    check("rollback without a trial refused", False)
except Exception as e:
    check("rollback without a trial refused", "nothing on trial" in str(e), e)

# A release never confirmed is rolled back at the boot after max_trial_boots
# boots, recorded as failed, and not taken again.
pub.release("2.0", V2)
check("update to 2.0", str(ferry.update(P)).startswith("updated 1.0 -> 2.0"))
check("trial boot 1", ferry.boot(P) == "trial")
check("trial boot 2", ferry.boot(P) == "trial")
check("rolled back at boot 3", ferry.boot(P) == "rolled back")
f = fs.open_read("/fb/main.py")
check("1.0 files back", f.read() == b"print(1)\n")
f.close()
st = ferry.status(P)
check("status: failed release", "failed:        2.0" in st and "last rollback:" in st, st)
r = ferry.update(P)
check("failed release not taken again", r.deferred and "failed its trial" in r.deferred, r)

# ferry.rollback() undoes a trial at once.
pub.release("3.0", {"main.py": "print(3)\n"})
check("update to 3.0", str(ferry.update(P)).startswith("updated 1.0 -> 3.0"))
check("rollback", ferry.rollback(P) == "rolled back 3.0 -> 1.0")

# Failures raise one line and are logged.
ORIGIN.put("channels/stable.note", ORIGIN.files["channels/stable.note"].replace(b"ferry-signing-1 x", b"untrusted x"))
try:
    ferry.update(P)
    check("failure raises", False)
except Exception as e:
    check("failure raises one line", "not signed" in str(e) and "\n" not in str(e), e)
check("status: last error", "not signed" in ferry.status(P))

# Staged rollout: the board's bucket decides, by device_id.
pub.release("4.0", {"main.py": "print(4)\n"})
ORIGIN.put("channels/stable.note", ORIGIN.files["channels/stable.note"].replace(b"rollout 100", b"rollout 30"))
out = {}
for dev in ("a", "b", "c", "d", "e", "f"):
    p = board_config("/c" + dev, device_id="dev-" + dev)
    r = ferry.update(p)
    out[dev] = (ferry.bucket("dev-" + dev, "4.0") < 30, bool(r.deferred), str(r))
check("canary follows the bucket", all(v[0] != v[1] for v in out.values()), out)
p = board_config("/cz")
r = ferry.update(p)
check("no device id: waits", r.deferred and "no device id" in r.deferred, r)

# run(): the first check of a board that never checked is due at once; the
# next waits for the interval.
pub.release("5.0", {"main.py": "print(5)\n"})
p = board_config("/r1")
real_reset = board.reset
resets = []
board.reset = lambda: resets.append(1)
out = ferry.run(p, once=True)
check("run: first check updates and resets", out.startswith("updated (none) -> 5.0") and resets == [1], (out, resets))
out = ferry.run(p, once=True)
check("run: next check not due", "not due" in out, out)
board.reset = real_reset

if failures:
    raise SystemExit(1)
print("ok test_ferry")
