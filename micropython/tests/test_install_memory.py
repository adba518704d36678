# What ferry.install allocates while it updates a 200-file release with a
# 1 MiB file on this port's filesystem. Run:
#   node micropython/runner/exec.mjs micropython/tests/test_install_memory.py
#
# In this WebAssembly port gc.collect() reclaims nothing while a runPython
# call runs (it collects only between calls from JS), so gc.mem_alloc()
# deltas here count every byte allocated, garbage included: an upper bound
# of the live heap. The test shows that nothing install allocates grows
# with file size (hashing and staging allocate nothing a chunk), and bounds
# what it allocates a file (garbage a board's GC reclaims: lines of the
# journal read back, stat tuples, one Op a line). What install keeps live is
# fixed: a 512-byte hash buffer, a 1 KB line buffer while a journal is read,
# the folder sets of a plan, one open file at a time.
import gc
import hashlib
import os
from binascii import hexlify

from ferry import fs, install, journal, stage, txn  # noqa: F401 (stage, txn: imported by install when first used; here, before the allocations are counted)

ROOT = "/memtest"
STATE = ROOT + "/.ferry"
FILES = 200
CHUNK = 512
buf = bytearray(CHUNK)


def path(i):
    return "app/m%02d/f%03d.py" % (i % 10, i) if i else "big.bin"


class Rel:
    def __init__(self, ver, big):
        self.ver = ver
        self.big = big
        self.digests = [self.digest(i) for i in range(FILES)]

    def size(self, i):
        return self.big if i == 0 else 300 + i

    def fill(self, i, off):
        v = (i * 7 + off // CHUNK + (self.ver if i == 0 else 0)) & 0xFF
        buf[0] = v
        buf[1] = v ^ 0x55
        return min(CHUNK, self.size(i) - off)

    def digest(self, i):
        h = hashlib.sha256()
        off, n = 0, self.size(i)
        while off < n:
            k = self.fill(i, off)
            h.update(buf if k == CHUNK else memoryview(buf)[:k])
            off += k
        return hexlify(h.digest()).decode()

    def entries(self):
        for i in sorted(range(FILES), key=path):
            yield (0o644, self.size(i), self.size(i), self.digests[i], path(i))

    def write_doc(self, dst):
        f = open(dst, "wb")
        f.write("test %d\n" % self.ver)
        for e in self.entries():
            f.write("f %o %d %d %s %s\n" % e)
        f.close()


def index(p):
    return 0 if p == "big.bin" else int(p[-6:-3])


def stored(p):
    for line in journal.lines(p):
        if line.startswith("f "):
            _, mode, sz, zs, h, q = line.split(" ", 5)
            yield (int(mode, 8), int(sz), int(zs), h, q)


def update(rel):
    """Install rel; returns (stats, bytes install allocated)."""
    fs.makedirs(STATE)
    doc = STATE + "/incoming"
    rel.write_doc(doc)
    rec = {"channel": "c", "version": str(rel.ver), "sequence": rel.ver, "manifest": "%064d" % rel.ver}
    gc.collect()
    a0 = gc.mem_alloc()
    inst = install.Installer(ROOT, STATE)
    old = inst.installed()
    t = inst.begin(rec)
    t.plan(rel.entries(), stored(inst.manifest_path(old)) if old else None)
    mv = memoryview(buf)
    for op in t.needed():
        w = t.stage(op)
        i = index(op.path)
        off = 0
        while off < op.size:
            k = rel.fill(i, off)
            w.write(buf if k == CHUNK else mv[:k])
            off += k
        w.close()
    st = t.commit(doc)
    return st, gc.mem_alloc() - a0


def run(big):
    fs.remove_tree(ROOT)
    os.mkdir(ROOT)
    st1, a1 = update(Rel(1, big))
    st2, a2 = update(Rel(2, big))  # only big.bin changes: hashed, staged, swapped
    assert st1["put"] == FILES and st2["put"] == 1, (st1, st2)
    return a1, a2


small1, small2 = run(64 * 1024)
big1, big2 = run(1 << 20)
print("install of %d files: %d bytes allocated (%d a file), with a 64 KiB file instead of 1 MiB: %d" % (
    FILES, big1, big1 // FILES, small1))
print("update of the 1 MiB file (the other 199 hashed): %d bytes allocated; of a 64 KiB one: %d" % (big2, small2))
assert abs(big1 - small1) <= 1024, "allocation grows with file size: %d vs %d" % (big1, small1)
assert abs(big2 - small2) <= 1024, "allocation grows with file size: %d vs %d" % (big2, small2)
assert big1 // FILES <= 8192, "more than 8 KB allocated a file: %d" % (big1 // FILES)
print("ok test_install_memory")
