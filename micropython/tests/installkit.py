"""Helpers for the install and power-cut tests: releases, a fetcher, a
checker of the target, and the power-cut proof loop."""

import hashlib
import json
from binascii import hexlify

from flashmodel import Flash, PowerCut
from ferry import fs, install, journal

TARGET = "/"
STATE = "/.ferry"
INCOMING = STATE + "/incoming"
UNMANAGED = {"/ferry.json": b'{"origin": "http://x"}\n'}


def sha(b):
    return hexlify(hashlib.sha256(b).digest()).decode()


class Release:
    """A release: version and files {path: content}."""

    def __init__(self, version, files, seq=1):
        self.version = version
        self.files = files
        self.seq = seq
        self.paths = sorted(files)
        self.doc = self._doc()
        self.digest = sha(self.doc)
        self._tree = None

    def entries(self):
        for p in self.paths:
            c = self.files[p]
            yield (0o644, len(c), len(c), sha(c), p)

    def _doc(self):
        out = ["test-manifest %s\n" % self.version]
        for e in Release.entries(self):
            out.append("f %o %d %d %s %s\n" % e)
        return "".join(out).encode()

    def record(self):
        return {"channel": "stable", "version": self.version, "sequence": self.seq, "manifest": self.digest}

    def tree(self):
        """The target as this release leaves it: files and folders."""
        if self._tree is None:
            self._tree = self._make_tree()
        return self._tree

    def _make_tree(self):
        files = dict(UNMANAGED)
        dirs = set(["/"])
        for p in self.paths:
            files["/" + p] = self.files[p]
            i = p.find("/")
            while i >= 0:
                dirs.add("/" + p[:i])
                i = p.find("/", i + 1)
        return files, dirs


def stored_entries(path):
    """Stream the entries of a stored test manifest document."""
    if path is None:
        return None
    return _stored(path)


def _stored(path):
    for line in journal.lines(path):
        if line.startswith("f "):
            _, mode, size, zsize, h, p = line.split(" ", 5)
            yield (int(mode, 8), int(size), int(zsize), h, p)


def installer(log=None):
    return install.Installer(TARGET, STATE, log=log)


def do_install(flash, rel, trial=False, chunk=100):
    """What update.py does: recover, plan, stage, commit (on flash)."""
    fs.use(flash)
    try:
        inst = installer()
        t = inst.begin(rel.record(), trial=trial)
        old = inst.installed()
        if t.uptodate or (old is not None and old["manifest"] == rel.digest):
            doc = None
        else:
            _write(INCOMING, rel.doc)
            doc = INCOMING
        try:
            t.plan(rel.entries(), stored_entries(inst.manifest_path(old)))
            for op in t.needed():
                w = t.stage(op)
                data = rel.files[op.path]
                for i in range(0, len(data), chunk):
                    w.write(data[i:i + chunk])
                w.close()
            return t.commit(doc)
        except PowerCut:
            raise
        except BaseException:
            t.abort()  # as update.py does
            raise
    finally:
        fs.use(None)


def _write(path, data):
    fs.makedirs(path[:path.rfind("/")])
    f = fs.open_write(path)
    try:
        f.write(data)
    finally:
        f.close()


def call(flash, name, *args):
    """Run installer method name on flash."""
    fs.use(flash)
    try:
        return getattr(installer(), name)(*args)
    finally:
        fs.use(None)


def fresh_flash(torn="absent"):
    f = Flash(torn)
    for p, c in UNMANAGED.items():
        f.files[p] = c
    return f


def target_of(flash):
    files = {}
    for p, c in flash.files.items():
        if not p.startswith(STATE + "/"):
            files[p] = c
    dirs = set()
    for d in flash.dirs:
        if d != STATE and not d.startswith(STATE + "/"):
            dirs.add(d)
    return files, dirs


def record_of(flash):
    data = flash.files.get(STATE + "/installed.json")
    return None if data is None else json.loads(data)


def which(flash, rels):
    """The name of the release in rels (name -> Release or None: nothing
    installed) that flash holds, checking files, contents, folders and the
    version record, with "*" added while it is on trial; raises
    AssertionError naming the difference. Also checks the state folder: a
    release on trial keeps its journal, any other leaves no txn folder, and
    only the manifests the record names are kept."""
    got = target_of(flash)
    rec = record_of(flash)
    for name, rel in rels.items():
        if rel is None:
            want = (dict(UNMANAGED), set(["/"]))
            if got == want and rec is None:
                _check_state(flash, rec)
                return name
            continue
        if got == rel.tree() and rec is not None and rec["version"] == rel.version and rec["manifest"] == rel.digest:
            _check_state(flash, rec)
            return name + ("*" if rec.get("trial") else "")
    raise AssertionError("flash holds none of %s: record %r; %s" % (list(rels), rec, _diff(got, rels)))


def _check_state(flash, rec):
    txn = [p for p in flash.files if p.startswith(STATE + "/txn/")]
    txn += [d for d in flash.dirs if d.startswith(STATE + "/txn")]
    if rec is not None and rec.get("trial"):
        assert STATE + "/txn/journal" in flash.files, "on trial without a journal"
    else:
        assert not txn, "transaction debris left: %s" % sorted(txn)
    keep = set()
    r = rec
    while r is not None:
        keep.add(STATE + "/manifests/" + r["manifest"])
        r = r.get("previous")
    docs = set(p for p in flash.files if p.startswith(STATE + "/manifests/"))
    assert docs == keep, "stored manifests %s, the record names %s" % (sorted(docs), sorted(keep))


def _diff(got, rels):
    out = []
    for name, rel in rels.items():
        want = rel.tree() if rel else (dict(UNMANAGED), set(["/"]))
        fa = set(got[0]) ^ set(want[0])
        fc = [p for p in got[0] if p in want[0] and got[0][p] != want[0][p]]
        da = got[1] ^ want[1]
        out.append("vs %s: files differ %s, contents differ %s, folders differ %s" % (name, sorted(fa), sorted(fc), sorted(da)))
    return "; ".join(out)


class Proof:
    """The power-cut proof of one action, run at every operation.

    setup: a Flash before the action; action(flash) runs it; recover(flash)
    is what runs at the next start; rels: name -> Release (None: nothing) of
    the acceptable outcomes; finish(flash, outcome) completes the story after
    a recovery (e.g. installs again) and returns the final name."""

    def __init__(self, name, setup, action, recover, rels, final, finish=None):
        self.name = name
        self.setup = setup
        self.action = action
        self.recover = recover
        self.rels = rels
        self.final = final
        self.finish = finish
        self.points = 0
        self.recovery_points = 0
        self.outcomes = {}
        self._memo = {}
        self._nested = {}

    def run(self):
        base = self.setup()
        f = base.copy()
        f.arm()
        self.action(f)
        total = f.ops
        assert total > 0, self.name + ": the action did no operation"
        assert which(f, self.rels) == self.final, self.name + ": uncut run"
        for k in range(total):
            f = base.copy()
            f.arm(k)
            try:
                self.action(f)
            except PowerCut:
                pass
            else:
                raise AssertionError("%s: no power cut at operation %d of %d" % (self.name, k, total))
            assert f.cut and f.ops == k, "%s: cut at %d, not %d" % (self.name, f.ops, k)
            f.reboot()
            self.points += 1
            out = self._recovered(f, "%s cut at %d" % (self.name, k))
            self.outcomes[out] = self.outcomes.get(out, 0) + 1
        return self

    def _recovered(self, f, where):
        """Recover f (cutting recovery at every operation too); returns the
        outcome, after checking that finishing reaches self.final."""
        key = f.state()
        if key in self._memo:
            return self._memo[key]
        g = f.copy()
        g.arm()
        self.recover(g)
        n = g.ops
        out = which(g, self.rels)
        for j in range(n):
            h = f.copy()
            h.arm(j)
            try:
                self.recover(h)
            except PowerCut:
                pass
            else:
                raise AssertionError("%s: no power cut in recovery at %d of %d" % (where, j, n))
            h.reboot()
            self.recovery_points += 1
            got = self._again(h)
            assert got == out, "%s, recovery cut at %d: %s, uncut recovery gives %s" % (where, j, got, out)
        again = g.copy()
        again.arm()
        self.recover(again)
        assert again.writes == 0, "%s: a second recovery wrote %d times" % (where, again.writes)
        if self.finish is not None:
            done = self.finish(g, out)
            assert done == self.final, "%s: finishing after %s gives %s, not %s" % (where, out, done, self.final)
        self._memo[key] = out
        return out

    def _again(self, h):
        """The outcome of recovering h again. The model is deterministic, so
        a flash state already recovered gives the outcome seen then."""
        key = h.state()
        got = self._memo.get(key) or self._nested.get(key)
        if got is None:
            h.arm()
            self.recover(h)
            got = which(h, self.rels)
            self._nested[key] = got
        return got

    def report(self):
        return "%s: %d cut points, %d recovery cut points, %d distinct flash states after a cut, outcomes %s" % (
            self.name, self.points, self.recovery_points, len(self._memo) + len(self._nested), sorted(self.outcomes.items()))
