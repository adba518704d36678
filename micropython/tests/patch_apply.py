# patch_apply.py: ferry/fetch.py's patch() against a Go server, driven by
# internal/mpyrun's TestPatchApply:
#   patch_apply.py BASE_URL OLD_SIZE OLD_SHA NEW_SIZE NEW_SHA
# BASE_URL/old is the old content, /p.mpatch the patch from it to the new
# one (/pdrop.mpatch the same, its first response reset), /cut.mpatch a
# patch cut short, /garbage.mpatch not zlib.
import sys, hashlib
from binascii import hexlify
from ferry import fetch, fs

BASE = sys.argv[1]
OLD_SIZE, OLD_SHA, SIZE, SHA = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
checks = 0


def check(name, ok, detail=""):
    global checks
    if not ok:
        raise AssertionError("%s: %s" % (name, detail))
    checks += 1


class Cfg:
    http_retries = 2
    backoff_sec = 0
    max_backoff_sec = 0
    stall_sec = 2
    connect_timeout_sec = 2
    state = "/state"


class Sink:
    def __init__(self, size):
        self.size = size
        self.h = hashlib.sha256()
        self.written = 0

    def write(self, b):
        if self.written + len(b) > self.size:
            raise ValueError("more than the manifest says")
        self.h.update(b)
        self.written += len(b)

    def ok(self):
        return self.written == SIZE and hexlify(self.h.digest()).decode() == SHA


CFG = Cfg()
fs.makedirs("/state")
fetch.to_file(BASE + "/old", "/state/old", OLD_SIZE, OLD_SHA, cfg=CFG)
check("patch_path", fetch.patch_path("ab", "cd") == "deltas/ab/cd.mpatch")

for name in ("p", "pdrop"):
    w = Sink(SIZE)
    fed = [0]

    def feed():
        fed[0] += 1

    got = fetch.patch(BASE + "/%s.mpatch" % name, "/state/old", w, SIZE, cfg=CFG, feed=feed)
    check(name + " fed", fed[0] > 0)
    check(name + " rebuilt", w.ok(), (w.written, SIZE))
    check(name + " tmp removed", not fs.exists("/state/patch.z"))
    print("patch", name, "received", got, "bytes for", SIZE)


def refused(name, url, base, size, want):
    try:
        fetch.patch(BASE + url, base, Sink(size), size, cfg=CFG)
    except fetch.HashMismatch as e:
        check(name, want in str(e), str(e))
        check(name + " tmp removed", not fs.exists("/state/patch.z"))
        return
    raise AssertionError(name + ": applied")


refused("wrong size", "/p.mpatch", "/state/old", SIZE + 1, "the manifest says %d" % (SIZE + 1))
refused("cut", "/cut.mpatch", "/state/old", SIZE, "not a zlib stream")
refused("garbage", "/garbage.mpatch", "/state/old", SIZE, "not a zlib stream")
# A base shorter than the patch copies from.
f = fs.open_write("/state/short")
f.write(b"short")
f.close()
refused("short base", "/p.mpatch", "/state/short", SIZE, "ends early")
# Mutated patches: refused (HashMismatch, or the sink's size check), or
# wrong content that the SHA-256 refuses; never another exception.
wrong = refusedn = 0
for i in range(40):
    w = Sink(SIZE)
    try:
        fetch.patch(BASE + "/m%d.mpatch" % i, "/state/old", w, SIZE, cfg=CFG)
    except (fetch.HashMismatch, ValueError):
        refusedn += 1
        continue
    except Exception as e:
        raise AssertionError("mutated patch %d: %r" % (i, e))
    if not w.ok():
        wrong += 1
check("mutants", refusedn + wrong == 40, (refusedn, wrong))
print("mutated patches: %d refused, %d wrong content (caught by the SHA-256)" % (refusedn, wrong))
print("patch_apply ok: %d checks" % checks)
