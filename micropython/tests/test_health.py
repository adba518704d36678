# Tests of ferry.health (the bounded health log), in real MicroPython:
#   node micropython/runner/exec.mjs micropython/tests/test_health.py
from ferry import fs, health

S = "/.ferry-health"
fs.remove_tree(S)
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


last, counts = health.latest(S)
check("empty", last == {} and counts == {}, (last, counts))
for i in range(25):
    health.add(S, 10, "error", "1.%d" % i, "boom %d\nsecond line" % i, t=1000 + i)
health.add(S, 10, "update", "2.0", "updated 1.0 -> 2.0 (3 files, 99 bytes)", t=2000)
check("bounded: at most the limit in the current log", health.count(S) <= 10, health.count(S))
kept = 0
for name in (health.LOG, health.OLD):
    for _ in health._lines(S, name):
        kept += 1
check("bounded: at most twice the limit kept", kept <= 20, kept)
last, counts = health.latest(S)
check("newest error", last["error"] == (1024, "1.24", "boom 24 second line"), last.get("error"))
check("newest update", last["update"][1] == "2.0", last.get("update"))
check("counts", counts["update"] == 1 and counts["error"] == kept - 1, counts)
health.add(S, 10, "deferral", None, "x" * 500, t=3000)
last, _ = health.latest(S)
check("long message cut", len(last["deferral"][2]) == health.MSG_MAX and last["deferral"][1] == "-", last["deferral"])
check("no temporary file left", not fs.exists(S + "/health.log.tmp"))

if failures:
    raise SystemExit(1)
print("ok test_health")
