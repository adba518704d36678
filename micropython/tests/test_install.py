# Tests of ferry.install on the flash model and on the real filesystem, run
# in real MicroPython:
#   node micropython/runner/exec.mjs micropython/tests/test_install.py
import os

from flashmodel import Flash
from installkit import INCOMING, STATE, Release, call, do_install, fresh_flash, installer, record_of, sha, which
from pcreleases import RELS, V1, V2
from ferry import fs, install

failures = []
ran = [0]


def check(name, cond, detail=""):
    ran[0] += 1
    if not cond:
        failures.append(name + ": " + str(detail))
        print("FAIL", name, detail)


def raises(fn, *args, **kw):
    """The exception fn raises (None if it returns)."""
    try:
        fn(*args, **kw)
    except Exception as e:
        return e
    return None


def v1_flash():
    f = fresh_flash()
    do_install(f, V1)
    f.arm()
    return f


def untouched(name, f, before):
    check(name + ": target as it was", f.state()[0] == before[0] or _same_target(f, before), "")
    txn = [p for p in f.files if p.startswith(STATE + "/txn")]
    check(name + ": no transaction debris", not txn, txn)


def _same_target(f, before):
    files = dict(before[0])
    return all(f.files.get(p) == c for p, c in files.items() if not p.startswith(STATE + "/"))


# Fresh install and update: the target, the record, the counts.
f = fresh_flash()
st = do_install(f, V1)
check("fresh install", which(f, RELS) == "v1")
check("fresh install counts", st["put"] == 8 and st["delete"] == 0, st)
rec = record_of(f)
check("record fields", rec["channel"] == "stable" and rec["sequence"] == 1 and "trial" not in rec, rec)

f.arm()
f.log = []
st = do_install(f, V2)
check("update", which(f, RELS) == "v2")
check("update counts", st["put"] == 6 and st["delete"] == 5, st)
touched = [e for e in f.log if "same.py" in e[1]]
check("a file already right is never written", not touched, touched)
check("the state folder is clean after a commit", not [p for p in f.files if "/txn" in p])

# A check that finds nothing new writes nothing.
f.arm()
f.log = []
st = do_install(f, V2)
check("no change: up to date", st["uptodate"], st)
check("no change: no write", f.writes == 0, f.log)

# A release whose files are all in place: only the record is written.
v2b = Release("1.1b", V2.files, 3)
f.arm()
f.log = []
st = do_install(f, v2b)
names = set(e[1].split(" ")[0] for e in f.log)
check("same files, new release: record and manifest only",
      all(n.startswith(STATE + "/installed.json") or n.startswith(STATE + "/incoming") or n.startswith(STATE + "/manifests") for n in names), f.log)
check("same files, new release: recorded", record_of(f)["version"] == "1.1b", record_of(f))

# A file changed on the board is repaired by the next install of its release.
f = v1_flash()
f.files["/lib/b.py"] = b"tampered"
st = do_install(f, V1)
check("tampered file repaired", which(f, RELS) == "v1" and st["put"] == 1, st)

# Free space is checked before staging, with the numbers.
f = fresh_flash()
f.blocks = 12
before = f.state()
e = raises(do_install, f, V1)
check("no space: NoSpaceError", isinstance(e, install.NoSpaceError), repr(e))
check("no space: numbers in the message", e is not None and "need" in str(e) and "free" in str(e), e)
untouched("no space", f, before)


# Content that does not match is refused, the target left as it was.
class Bad(Release):
    """rel's manifest, but the fetcher serves content for path."""

    def __init__(self, rel, path, content):
        Release.__init__(self, rel.version, rel.files, rel.seq)
        self.files = dict(rel.files)
        self.files[path] = content
        self.good = rel

    def entries(self):
        return self.good.entries() if hasattr(self, "good") else Release.entries(self)


for name, content, err in (
    ("flipped byte", b"B" * 700, install.ChecksumError),
    ("short", b"A" * 699, install.ShortError),
    ("long", b"A" * 701, install.ChecksumError),
):
    f = v1_flash()
    before = f.state()
    e = raises(do_install, f, Bad(V2, "lib/a.py", content))
    check(name + ": refused", isinstance(e, err), repr(e))
    check(name + ": names the file", e is not None and "lib/a.py" in str(e), e)
    untouched(name, f, before)
    check(name + ": still 1.0", which(f, RELS) == "v1")

# Commit refuses a plan whose files were not all staged.
f = v1_flash()
fs.use(f)
inst = installer()
t = inst.begin(V2.record())
t.plan(V2.entries(), V1.entries())
e = raises(t.commit, None)
fs.use(None)
check("commit without staging refused", isinstance(e, install.InstallError) and "staged" in str(e), repr(e))
check("commit without staging: still 1.0", which(f, RELS) == "v1")

# A StageWriter restarts (a fetch that starts over) and counts what it wrote.
f = fresh_flash()
fs.use(f)
try:
    inst = installer()
    fs.makedirs(STATE)
    t = inst.begin(V1.record())
    t.plan(V1.entries(), None)
    for op in t.needed():
        w = t.stage(op)
        w.write(b"g" * min(2, op.size))
        w.restart()
        data = V1.files[op.path]
        w.write(data[:3])
        check("written counts", w.written == min(3, len(data)), w.written)
        w.write(data[3:])
        w.close()
    f2 = fs.open_write(INCOMING)
    f2.write(V1.doc)
    f2.close()
    t.commit(INCOMING)
finally:
    fs.use(None)
check("restart: installed", which(f, RELS) == "v1")

# Conflicts are refused before anything is staged, naming the path.
f = fresh_flash()
f.files["/x"] = b"a file of the user's"
before = f.state()
e = raises(do_install, f, V2)
check("unmanaged file where a folder goes", isinstance(e, install.ConflictError) and "'x'" in str(e), repr(e))
untouched("file in the way", f, before)

f = fresh_flash()
f.dirs.add("/conf")
f.files["/conf/mine"] = b"user data"
before = f.state()
e = raises(do_install, f, V2)
check("unmanaged folder where a file goes", isinstance(e, install.ConflictError) and "'conf'" in str(e), repr(e))
untouched("folder in the way", f, before)

f = v1_flash()
del f.files["/lib/b.py"]
f.dirs.add("/lib/b.py")
e = raises(do_install, f, V2)
check("a file of the old release now a folder", isinstance(e, install.ConflictError) and "lib/b.py" in str(e), repr(e))

# A user's file in a folder the new release empties: the folder stays with it.
f = v1_flash()
f.files["/lib/old/user.txt"] = b"mine"
do_install(f, V2)
check("user file kept", f.files.get("/lib/old/user.txt") == b"mine" and "/lib/old/gone.py" not in f.files)

# Paths: the state folder and unsorted manifests are refused.
bad = Release("9", {".ferry/installed.json": b"{}"})
e = raises(do_install, fresh_flash(), bad)
check("path in the state folder refused", isinstance(e, install.InstallError) and "state" in str(e), repr(e))
f = fresh_flash()
fs.use(f)
try:
    t = installer().begin(V1.record())
    e = raises(t.plan, reversed(list(V1.entries())), None)
finally:
    fs.use(None)
check("unsorted manifest refused", isinstance(e, install.InstallError) and "sorted" in str(e), repr(e))
check("unsorted manifest: nothing left", not [p for p in f.files if "/txn" in p])

# allow: paths outside it are neither written nor deleted.
f = v1_flash()
fs.use(f)
try:
    inst = install.Installer("/", STATE, allow=["lib/", "main.py"])
    t = inst.begin(V2.record())
    t.plan(V2.entries(), (e for e in V1.entries()))
    for op in t.needed():
        check("allow: only allowed paths", op.path.startswith("lib/") or op.path == "main.py", op.path)
        w = t.stage(op)
        w.write(V2.files[op.path])
        w.close()
    fh = fs.open_write(INCOMING)
    fh.write(V2.doc)
    fh.close()
    t.commit(INCOMING)
finally:
    fs.use(None)
check("allow: allowed paths updated", f.files.get("/main.py") == V2.files["main.py"] and "/lib/b.py" not in f.files
      and f.files.get("/lib/new/n.py") == V2.files["lib/new/n.py"])
check("allow: other paths untouched", f.files.get("/x") == V1.files["x"] and "/conf/c.txt" in f.files and "/z.py" not in f.files,
      sorted(f.files))


# Entries as objects (what manifest.py yields) work like tuples.
class E:
    def __init__(self, t):
        self.mode, self.size, self.zsize, self.sha256, self.path = t


f = fresh_flash()
fs.use(f)
try:
    t = installer().begin(V1.record())
    t.plan((E(x) for x in V1.entries()), None)
    check("object entries", t.stats["put"] == 8, t.stats)
    t.abort()
finally:
    fs.use(None)

# The GitHub developer channel: git blob SHA-1 digests, as manifest.py's
# (kind, mode, size, zsize, digest bytes, path) tuples.
from binascii import unhexlify  # noqa: E402

from ferry import sha1  # noqa: E402


def git_sha1(b):
    return sha1.new(("blob %d\0" % len(b)).encode() + b).digest()


check("git blob sha1 of 'hello\\n'", git_sha1(b"hello\n") == unhexlify("ce013625030ba8dba906f756967f9e9ca394464a"))


class GitRelease(Release):
    def entries(self):
        for p in self.paths:
            c = self.files[p]
            yield (b"g", 0o644, len(c), len(c), git_sha1(c), p)


g1 = GitRelease("dev-1", {"main.py": b"dev 1\n", "lib/x.py": b"x" * 900}, 1)
f = fresh_flash()
st = do_install(f, g1)
check("git sha1 install", f.files.get("/lib/x.py") == b"x" * 900 and st["put"] == 2, st)
f.arm()
f.log = []
g2 = GitRelease("dev-2", g1.files, 2)
st = do_install(f, g2)
check("git sha1: files already right are not written", st["put"] == 0 and not [e for e in f.log if "/lib/x.py" in e[1]], f.log)
bad = GitRelease("dev-3", {"main.py": b"dev 1\n", "lib/x.py": b"x" * 900}, 3)
bad.entries = lambda: iter([(b"g", 0o644, 900, 900, git_sha1(b"y" * 900), "lib/x.py"),
                            (b"g", 0o644, 6, 6, git_sha1(b"dev 1\n"), "main.py")])
e = raises(do_install, fresh_flash(), bad)
check("git sha1 mismatch refused", isinstance(e, install.ChecksumError) and "git SHA-1" in str(e), repr(e))

# Trials: boots are counted, max_trial_boots rolls back, confirm ends it.
f = v1_flash()
do_install(f, V2, trial=True)
check("on trial", which(f, RELS) == "v2*")
check("trial record names the previous", record_of(f)["previous"]["version"] == "1.0", record_of(f))
e = raises(do_install, f, Release("1.2", {"a": b"a"}, 4))
check("install while on trial refused", isinstance(e, install.ConflictError) and "trial" in str(e), repr(e))
check("boot 1", call(f, "boot", 2) == "trial" and record_of(f)["boots"] == 1, record_of(f))
check("boot 2", call(f, "boot", 2) == "trial" and record_of(f)["boots"] == 2, record_of(f))
check("boot 3 rolls back", call(f, "boot", 2) == "rolled back" and which(f, RELS) == "v1", record_of(f))
check("after rollback boot is ok", call(f, "boot", 2) == "ok")
e = raises(call, f, "rollback")
check("rollback without a trial refused", isinstance(e, install.InstallError), repr(e))
do_install(f, V2, trial=True)
check("confirm", call(f, "confirm")["version"] == "1.1" and which(f, RELS) == "v2")
check("confirmed record has no trial", "previous" not in record_of(f) and "trial" not in record_of(f), record_of(f))
e = raises(call, f, "confirm")
check("confirm without a trial refused", isinstance(e, install.InstallError), repr(e))

# The real filesystem (this port's MEMFS through ferry.fs's os backend).
ROOT = "/realtest"
fs.remove_tree(ROOT)
os.mkdir(ROOT)


def real_install(rel, trial=False):
    inst = install.Installer(ROOT, ROOT + "/.ferry")
    t = inst.begin(rel.record(), trial=trial)
    old = inst.installed()
    t.plan(rel.entries(), _stored(inst.manifest_path(old)))
    for op in t.needed():
        w = t.stage(op)
        w.write(rel.files[op.path])
        w.close()
    fs.makedirs(ROOT + "/.ferry")
    with open(ROOT + "/.ferry/in", "wb") as fh:
        fh.write(rel.doc)
    return t.commit(ROOT + "/.ferry/in")


def _stored(p):
    from installkit import stored_entries
    return stored_entries(p)


def real_tree():
    out = {}

    def walk(d, rel):
        for e in os.ilistdir(d):
            p = rel + e[0]
            if p == ".ferry":
                continue
            if e[1] & 0x4000:
                out[p + "/"] = None
                walk(d + "/" + e[0], p + "/")
            else:
                with open(d + "/" + e[0], "rb") as fh:
                    out[p] = fh.read()
    walk(ROOT, "")
    return out


def want_tree(rel):
    t = {}
    for p, c in rel.files.items():
        t[p] = c
        i = p.find("/")
        while i >= 0:
            t[p[:i + 1]] = None
            i = p.find("/", i + 1)
    return t


real_install(V1)
check("real fs: 1.0", real_tree() == want_tree(V1), real_tree())
real_install(V2, trial=True)
check("real fs: 1.1", real_tree() == want_tree(V2), real_tree())
check("real fs: rollback", install.Installer(ROOT, ROOT + "/.ferry").rollback()["version"] == "1.0")
check("real fs: 1.0 again", real_tree() == want_tree(V1), real_tree())
check("real fs: state clean", sorted(os.listdir(ROOT + "/.ferry")) == ["installed.json", "manifests"], os.listdir(ROOT + "/.ferry"))
check("real fs: sha", sha(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")

if failures:
    raise SystemExit(1)
print("ok test_install (%d checks)" % ran[0])
