# A power cut at every filesystem operation of a whole update cycle
# (ferry.cycle: the poll records, the key list and pointer caches, the
# manifest download, the install, the last-check record), on the flash model
# of flashmodel.py: after the cut, ferry.boot()'s recovery leaves exactly the
# old release or the new one, and the next cycle reaches the new one.
# fakeorigin.py stands in for the network and Ed25519 (see test_update.py).
#   node micropython/runner/exec.mjs micropython/tests/test_powercut_cycle.py
import deflate
import io
import sys
import fakeorigin

fakeorigin.install()

from fakeorigin import Publisher  # noqa: E402
import flashmodel  # noqa: E402
import mbkit  # noqa: E402
from flashmodel import Flash, PowerCut  # noqa: E402
from ferry import board, config, cycle, fs, install  # noqa: E402

T = board.now()
ROOT = "/b"


# The cycle reads manifests with seek and tell (note.py, as on a board's
# littlefs); the model's read files get them, each one operation.
def _seek(self, off, whence=0):
    self.fl._op()
    self.pos = off if whence == 0 else (self.pos + off if whence == 1 else len(self.data) + off)
    return self.pos


def _tell(self):
    return self.pos


def _read(self, n=-1):
    self.fl._op()
    end = len(self.data) if n < 0 else min(len(self.data), self.pos + n)
    b = self.data[self.pos:end]
    self.pos = end
    return b


flashmodel._R.seek = _seek
flashmodel._R.tell = _tell
flashmodel._R.read = _read
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


def app(flash):
    # The application files on the flash: path -> content.
    return {p[len(ROOT) + 1:]: c for p, c in flash.files.items()
            if p.startswith(ROOT + "/") and not p.startswith(ROOT + "/.ferry")}


def want(files):
    return {p: c.encode() for p, c in files.items()}


V1 = {"main.py": "print(1)\n", "lib/a.py": "A = 1\n", "lib/old/gone.py": "bye\n"}
V2 = {"main.py": "print(2)\n", "lib/a.py": "A = 1\n", "data/new.csv": "a,b\n", "lib/b.py": "B = 2\n"}

flash = Flash()
fs.use(flash)
fs.makedirs(ROOT)
pub = Publisher(T)
cfg = config.parse({"origin": "http://origin.test/", "root_keys": ["/root.pub"], "target": ROOT, "state": ROOT + "/.ferry"})
pub.release("1.0", V1)
cycle.run(cfg)
install.Installer(ROOT, cfg.state).confirm()
check("1.0 installed", app(flash) == want(V1), app(flash))
pub.release("2.0", V2)

def cuts(how):
    # The cycle from 1.0 to 2.0, cut at each of its filesystem operations.
    base = flash.copy()
    fs.use(base.copy())
    fs._b.arm()
    r = cycle.run(cfg)
    ops = fs._b.ops
    check("the uncut cycle updates", str(r).startswith("updated 1.0 -> 2.0"), r)
    print("%s: a cycle from 1.0 to 2.0 is %d filesystem operations" % (how, ops))

    outcomes = {}
    for k in range(ops):
        f = base.copy()
        fs.use(f)
        f.arm(k)
        try:
            cycle.run(cfg)
            check("cut at %d happened" % k, False)
        except PowerCut:
            pass
        f.reboot()
        inst = install.Installer(ROOT, cfg.state)
        inst.boot(3)
        got = app(f)
        rec = inst.installed()
        if got == want(V1):
            state = "1.0"
        elif got == want(V2):
            state = "2.0"
        else:
            check("cut at %d: old or new release" % k, False, sorted(got))
            continue
        check("cut at %d: record agrees" % k, rec is not None and rec["version"] == state, (state, rec))
        outcomes[state] = outcomes.get(state, 0) + 1
        try:
            r = cycle.run(cfg)
        except Exception as e:
            check("cut at %d: the next cycle runs" % k, False, "%s: %s" % (type(e).__name__, e))
            continue
        check("cut at %d: the next cycle reaches 2.0" % k, app(f) == want(V2) and inst.installed()["version"] == "2.0", (str(r), sorted(app(f))))
        check("cut at %d: no download left" % k, not [p for p in f.files if "/downloads/" in p or p.endswith(".tmp")],
              [p for p in f.files if "/downloads/" in p or p.endswith(".tmp")])

    print("%s: outcomes after recovery:" % how, outcomes)
    check("both outcomes seen", outcomes.get("1.0", 0) > 0 and outcomes.get("2.0", 0) > 0, outcomes)
    fs.use(flash)


cuts("per-file path")
# The same with the update bundle from 1.0 (mbundle.py): the note and the
# changed files in one download, staged before the plan.
class _Deflate:
    # The port's deflate.DeflateIO takes only a native stream, which the flash
    # model's files are not: mbundle.py's import of deflate gets this, which
    # reads the bundle's file (one operation) into one.
    ZLIB = deflate.ZLIB

    @staticmethod
    def DeflateIO(f, fmt, wbits):
        return deflate.DeflateIO(io.BytesIO(f.read()), fmt, wbits)


sys.modules["deflate"] = _Deflate
notes = [fakeorigin.ORIGIN.files["releases/%s/manifest.note" % v] for v in ("1.0", "2.0")]
path = "deltas/%s/%s.mbundle" % (mbkit.hx(mbkit.sha(notes[0])), mbkit.hx(mbkit.sha(notes[1])))
fakeorigin.ORIGIN.put(path, mbkit.zlib(mbkit.bundle(notes[0], notes[1], want(V1), want(V2))))
del fakeorigin.ORIGIN.log[:]
cuts("update bundle")
got = fakeorigin.ORIGIN.log
check("the bundle was used, no blob fetched", path in got and not [p for p in got if p.startswith("blobs/")], got[:12])

fs.use(None)
if failures:
    raise SystemExit(1)
print("ok test_powercut_cycle")
