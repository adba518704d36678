# fetch_faults.py: ferry/fetch.py against a Go faultnet origin, driven by
# internal/mpyrun's TestFetchFaults:
#   fetch_faults.py BASE_URL SIZE SHA256
# BASE_URL/<name> are copies of one content (SIZE bytes, SHA256) and
# BASE_URL/<name>.z of its zlib blob; the Go test plans faults per name.
import sys, gc, hashlib, os
from binascii import hexlify
from ferry import fetch, fs, http

BASE, SIZE, SHA = sys.argv[1], int(sys.argv[2]), sys.argv[3]
checks = 0


def check(name, ok, detail=""):
    global checks
    if not ok:
        raise AssertionError("%s: %s" % (name, detail))
    checks += 1


class Cfg:
    http_retries = 3
    backoff_sec = 0
    max_backoff_sec = 0
    stall_sec = 1
    connect_timeout_sec = 2
    state = "/state"


CFG = Cfg()
fs.makedirs("/state")
fed = [0]


def feed():
    fed[0] += 1


def hexsha(path):
    h = hashlib.sha256()
    f = open(path, "rb")
    buf = bytearray(1024)
    while True:
        n = f.readinto(buf)
        if not n:
            break
        h.update(buf[:n])
    f.close()
    return hexlify(h.digest()).decode()


class Sink:
    # What install's StageWriter does: hash, count, refuse more than size.
    def __init__(self):
        self.h = hashlib.sha256()
        self.written = 0

    def write(self, b):
        if self.written + len(b) > SIZE:
            raise ValueError("more than the manifest says")
        self.h.update(b)
        self.written += len(b)

    def ok(self):
        return self.written == SIZE and hexlify(self.h.digest()).decode() == SHA


def fails(name, fn, kind):
    try:
        fn()
    except Exception as e:
        check(name, isinstance(e, kind), repr(e))
        return e
    raise AssertionError(name + ": no error")


# small(): 200, then 304 on Last-Modified, 404, a cap, a 503 retried.
r = fetch.small(BASE + "/small", 100, cfg=CFG, feed=feed)
check("small 200", r.status == 200 and r.body == b"ferry-channel 1\n", (r.status, r.body))
r2 = fetch.small(BASE + "/small", 100, since=r.last_modified, cfg=CFG)
check("small 304", r2.status == 304 and r2.body is None, r2.status)
check("small 404", fetch.small(BASE + "/nothing", 100, cfg=CFG).status == 404)
fails("small cap", lambda: fetch.small(BASE + "/small", 5, cfg=CFG), fetch.TooLarge)
check("small 503 retried", fetch.small(BASE + "/small503", 100, cfg=CFG).status == 200)

# to_file(): plain, resumed after a reset, after a reset and an origin that
# then ignores Range, a stall; a flipped byte and an endless body fail and
# leave no file.
for name in ("plain", "drop", "dropignore", "stall", "truncate"):
    fed[0] = 0
    got = fetch.to_file(BASE + "/" + name, "/state/m", SIZE, SHA, cfg=CFG, feed=feed)
    check("to_file " + name, hexsha("/state/m") == SHA and fs.size("/state/m") == SIZE)
    print("to_file", name, "received", got)
    check("fed " + name, fed[0] > 0)
fails("to_file flip", lambda: fetch.to_file(BASE + "/flip", "/state/m2", SIZE, SHA, cfg=CFG), fetch.HashMismatch)
check("flip removed", not fs.exists("/state/m2"))
fails("to_file endless", lambda: fetch.to_file(BASE + "/endless", "/state/m3", SIZE, SHA, cfg=CFG), fetch.TooLarge)
fails("to_file 404", lambda: fetch.to_file(BASE + "/nothing", "/state/m4", SIZE, SHA, cfg=CFG), http.HTTPError)
fails("to_file short", lambda: fetch.to_file(BASE + "/small", "/state/m5", SIZE, SHA, cfg=CFG), fetch.HashMismatch)

# blob(): the .z decoded into the sink; resumed; the temporary file gone.
check("blob_path", fetch.blob_path(SHA) == "blobs/sha256/%s/%s.z" % (SHA[:2], SHA))
for name in ("plain", "drop", "dropignore"):
    w = Sink()
    gc.collect()
    before = gc.mem_alloc()
    got = fetch.blob(BASE + "/" + name + ".z", w, SIZE, cfg=CFG, feed=feed)
    check("blob " + name, w.ok(), (w.written, SIZE))
    check("blob tmp removed " + name, not fs.exists("/state/blob.z"))
    print("blob", name, "received", got, "of", fetch.zcap(SIZE), "cap")
e = fails("blob flip", lambda: fetch.blob(BASE + "/flip.z", Sink(), SIZE, cfg=CFG), Exception)
check("blob flip kind", isinstance(e, (fetch.HashMismatch, ValueError)), repr(e))
w = Sink()
try:
    fetch.blob(BASE + "/flipdeep.z", w, SIZE, cfg=CFG)
    check("flipdeep caught", not w.ok(), "a corrupt blob decoded to the right content")
except (fetch.HashMismatch, ValueError):
    checks += 1
fails("blob endless", lambda: fetch.blob(BASE + "/endless.z", Sink(), SIZE, cfg=CFG), fetch.TooLarge)
# A blob made with a 32 KiB window (a publisher that ignores the board's
# window) does not decode to the content.
w = Sink()
try:
    fetch.blob(BASE + "/wide.z", w, SIZE, cfg=CFG)
    check("wide window refused", not w.ok(), "a 32 KiB-window blob decoded with the 2 KiB window")
except (fetch.HashMismatch, ValueError):
    checks += 1
# Heap while a blob streams. This port's gc.collect() frees nothing until
# the script returns to JavaScript (the WebAssembly stack cannot be
# scanned), so what the blob allocates in all is measured: an upper bound
# of its live heap on a board.
w = Sink()
gc.collect()
base = gc.mem_alloc()
fetch.blob(BASE + "/plain.z", w, SIZE, cfg=CFG)
gc.collect()
used = gc.mem_alloc() - base
check("heap blob", w.ok() and used < 65536, used)
print("blob of %d bytes allocated %d bytes in all" % (SIZE, used))
print("fetch_faults ok: %d checks" % checks)
