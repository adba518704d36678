# Tests of ferry.cycle (one update cycle) in real MicroPython, with the real
# trust.py, manifest.py, install.py and records on the (in-memory) flash, and
# fakeorigin.py in place of the network and the Ed25519 checks:
#   node micropython/runner/exec.mjs micropython/tests/test_update.py
import fakeorigin

fakeorigin.install()

from fakeorigin import ORIGIN, Publisher  # noqa: E402
from ferry import board, config, cycle as update, fs, install, manifest, trust  # noqa: E402

T = board.now()
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


def snapshot(root):
    out = {}

    def walk(d):
        for e in fs.ilistdir(d):
            p = d + "/" + e[0]
            if e[1] & 0x4000:
                walk(p)
            else:
                f = fs.open_read(p)
                out[p[len(root) + 1:]] = f.read()
                f.close()
    walk(root)
    return out


def changed(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


n = [0]


def new_board(**kw):
    n[0] += 1
    d = {"origin": "http://origin.test/", "root_keys": ["/root.pub"], "target": "/b%d" % n[0],
         "state": "/b%d/.ferry" % n[0]}
    d.update(kw)
    fs.makedirs(d["target"])
    return config.parse(d)


def confirm(c):
    inst = install.Installer(c.target, c.state)
    if inst.installed().get("trial"):  # a release with no file changes is not put on trial
        inst.confirm()


def fails(c, kind, text):
    # An update that must fail with exception class kind naming text, and
    # leave everything but the last-check record as it was.
    before = snapshot(c.target)
    try:
        r = update.run(c)
        check("refused: " + text, False, "got %s" % r)
        return
    except Exception as e:
        ok = isinstance(e, kind) and text in str(e)
        check("refused: " + text, ok, "%s: %s" % (type(e).__name__, e))
    d = changed(before, snapshot(c.target))
    check("untouched: " + text, d in ([], [".ferry/last-check"]), d)


V1 = {"main.py": "print(1)\n", "lib/util.py": "def f(): pass\n", "lib/old/gone.py": "bye\n"}
V2 = {"main.py": "print(2)\n", "lib/util.py": "def f(): pass\n", "data/new.csv": "a,b\n"}
pub = Publisher(T)

# Fresh install, on trial; then confirmed.
pub.release("1.0", V1)
c = new_board()
r = update.run(c)
check("fresh install", str(r).startswith("updated (none) -> 1.0 (3 files, ") and r.files == 3, r)
got = snapshot(c.target)
check("files installed", all(got.get(p) == V1[p].encode() for p in V1), sorted(got))
rec = install.Installer(c.target, c.state).installed()
check("on trial", rec["trial"] and rec["version"] == "1.0", rec)
confirm(c)

# A poll with nothing new: one conditional request, and the only write is
# the last-check record (<= 64 bytes).
before = snapshot(c.target)
ORIGIN.log = []
r = update.run(c)
check("no-op result", str(r) == "up to date (1.0)", r)
check("no-op is one request", ORIGIN.log == ["channels/stable.note"], ORIGIN.log)
after = snapshot(c.target)
check("no-op writes only last-check", changed(before, after) in ([], [".ferry/last-check"]), changed(before, after))
check("last-check written", ".ferry/last-check" in after, sorted(after))
check("last-check <= 64 bytes", len(after[".ferry/last-check"]) <= 64, after[".ferry/last-check"])

# Update with an add, a change and a delete (and an emptied folder).
ptr2 = pub.release("2.0", V2)
r = update.run(c)
check("update", str(r).startswith("updated 1.0 -> 2.0 (3 files, "), r)
got = snapshot(c.target)
check("v2 files", all(got.get(p) == V2[p].encode() for p in V2) and "lib/old/gone.py" not in got, sorted(got))
check("emptied folder removed", not fs.exists(c.target + "/lib/old"))

# While 2.0 is on trial, a newer release waits.
ptr3 = pub.release("3.0", V1)
r = update.run(c)
check("trial defers", r.deferred and "on trial" in str(r), r)
confirm(c)

# A deferred release's sequence counts as seen: replaying 2.0's pointer
# (sequence 2, as installed) is then a rollback too.
seen = update.Cycle(c)
check("highest sequence seen recorded", seen.poll.get("seq stable") == 3, seen.poll)
ORIGIN.put("channels/stable.note", pub.pointer("stable", "2.0", 2, ORIGIN.files["releases/2.0/manifest.note"], trust.fmt_time(T + 3600)))
fails(c, update.RollbackError, "older than sequence 3 already seen")

# Rollback below the installed release.
ORIGIN.put("channels/stable.note", ptr3)
r = update.run(c)
check("3.0 installed", str(r).startswith("updated 2.0 -> 3.0"), r)
confirm(c)
ORIGIN.put("channels/stable.note", ptr2)
fails(c, update.RollbackError, "older than the installed 3.0")

# Untrusted pointer, another channel's pointer, a manifest that is not the
# one the pointer names, a file list over max_files.
pub.release("4.0", V2, seq=4)
ORIGIN.put("channels/stable.note", pub.pointer("stable", "4.0", 4, ORIGIN.files["releases/4.0/manifest.note"], trust.fmt_time(T + 3600), "untrusted"))
fails(c, update.UpdateError, "not signed by a trusted key")
pub.release("4.0", V2, seq=4, channel="beta")
ORIGIN.put("channels/stable.note", ORIGIN.files["channels/beta.note"])
fails(c, update.MismatchError, "names channel 'beta'")
pub.release("4.0", V2, seq=4)
good = ORIGIN.files["releases/4.0/manifest.note"]
ORIGIN.put("releases/4.0/manifest.note", ORIGIN.files["releases/1.0/manifest.note"])
fails(c, update.MismatchError, "the signed channel pointer names")
ORIGIN.put("releases/4.0/manifest.note", good.replace(b" 0644 ", b" 0600 "))
fails(c, update.MismatchError, "does not have the SHA-256 the signed channel pointer names")
ORIGIN.put("releases/4.0/manifest.note", good)
c1 = config.parse({"origin": c.origin, "root_keys": ["/root.pub"], "target": c.target, "state": c.state, "max_files": 2})
fails(c1, manifest.TooLargeError, "max_files")

# Freeze: an expired pointer, fetched or from the cache (304).
pub.release("5.0", V1, expires=T - 10)
fails(c, update.FrozenError, "expired")
pub.release("5.0", V1, seq=5)
r = update.run(c)
check("5.0 installed", str(r).startswith("updated 3.0 -> 5.0"), r)
confirm(c)
real_now = board.now
board.now = lambda: T + 86400 * 30
fails(c, update.FrozenError, "expired")
board.now = real_now

# Signing-key list versions only go up; a different list under the same
# version is refused; once format 2 was seen, format 1 is refused.
pub.keys(7)
pub.release("6.0", V2)
r = update.run(c)
check("key list version 7", str(r).startswith("updated 5.0 -> 6.0") and update.Cycle(c).poll["kver"] == 7, r)
confirm(c)
pub.keys(6)
pub.release("7.0", V1)
fails(c, update.RollbackError, "version 6 is older than 7")
pub.keys(7, expires=T + 1000)
fails(c, update.RollbackError, "version 7 differs from the one already trusted")
pub.keys(0, fmt=1)
fails(c, update.RollbackError, "format 1 is refused")

# A board that never saw format 2 falls back to format 1 (version 0).
c2 = new_board()
r = update.run(c2)
check("format-1 fallback", str(r).startswith("updated (none) -> 7.0"), r)
check("format-1 recorded", update.Cycle(c2).poll.get("kfmt") == 1, update.Cycle(c2).poll)

# A board without a set clock judges expiry by the last good time, and says so.
pub.keys(8)
pub.release("8.0", V2, expires=T + 3600)
c3 = new_board()
real_trusted = board.trusted
board.trusted = lambda t=None: False
board.now = lambda: 1609459200  # 2021-01-01: an RP2040 that never set its clock
r = update.run(c3)
check("unset clock: installs by the last good time", str(r).startswith("updated (none) -> 8.0"), r)
t, good, set_ = update.read_last(c3.state)
check("last good time is the manifest's signed creation", good == T - 60 and not set_, (t, good, set_))
board.trusted, board.now = real_trusted, real_now

if failures:
    raise SystemExit(1)
print("ok test_update")
