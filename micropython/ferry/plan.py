# The plan of an install (see the comment at the top of install.py): the new and old
# manifests merged as sorted streams into the ops of txn/plan.

from binascii import hexlify

from ferry import fs, journal
from ferry.journal import ConflictError, InstallError, NoSpaceError
from ferry.ops import READY



class Planner:
    # The planning half of install.Txn (which sets inst, record, old,
    # stats, _f, _n).

    def plan(self, new_entries, old_entries=None):
        """Merge the sorted new and old manifest streams into ops."""
        if self.uptodate:
            self._planned = True
            return self.stats
        self._seen = set()  # folders the new release needs
        self._mk = []  # folders to create, shallowest first
        self._cand = set()  # folders of deleted files
        self._dir_to_file = []
        self._file_to_dir = []
        self._need = 0  # bytes of flash the stage needs
        try:
            self._merge(new_entries, old_entries)
            self._close_plan()
        except BaseException:
            self.abort()
            raise
        self._planned = True
        self._ok = bytearray((self._n + 7) // 8)
        return self.stats

    def _merge(self, new_entries, old_entries):
        olds = _tuples(old_entries) if old_entries is not None else iter(())
        o = _next(olds)
        last = None
        for e in _tuples(new_entries):
            p = e[4]
            if last is not None and p <= last:
                raise InstallError("manifest: %r after %r: paths must be sorted and unique" % (p, last))
            last = p
            while o is not None and o[4] < p:
                self._old_only(o[4])
                o = _next(olds)
            if o is not None and o[4] == p:
                o = _next(olds)
            if self._managed(p):
                self._new(e)
        while o is not None:
            self._old_only(o[4])
            o = _next(olds)

    def _managed(self, p):
        _check_path(p)
        inst = self.inst
        full = inst.tpath(p)
        if full == inst.state or full.startswith(inst.state + "/"):
            raise InstallError("manifest path %r: inside the state folder %s" % (p, inst.state))
        a = inst.allow
        if not a:
            return True
        if callable(a):
            return a(p)
        for x in a:
            if p == x or (x[-1:] == "/" and p.startswith(x)):
                return True
        return False

    def _new(self, e):
        mode, size, zsize, sha, p = e[0], e[1], e[2], _hex(e[3]), e[4]
        if len(sha) not in (64, 40) or sha == "0" * len(sha):
            raise InstallError("manifest entry %r: no SHA-256 or git SHA-1 to verify it by" % p)
        inst = self.inst
        missing = False
        for d in parents(p):
            if d in self._seen:
                continue
            self._seen.add(d)
            k = None if missing else fs.kind(inst.tpath(d))
            if k == "d":
                continue
            if k == "f":
                self._file_to_dir.append(d)
            missing = True
            self._mk.append(d)
        full = inst.tpath(p)
        k = fs.kind(full)
        if k == "f" and fs.size(full) == size and inst.hash_file(full, size, sha) == sha:
            return
        if k == "d":
            self._dir_to_file.append(p)
        self._write(journal.Op("put", self._n, p, size, zsize, mode, sha))
        self.stats["put"] += 1
        self.stats["bytes"] += size
        self._need += size

    def _old_only(self, p):
        if not self._managed(p):
            return
        k = fs.kind(self.inst.tpath(p))
        if k == "d":
            raise ConflictError("%r was a file of the installed release and is now a folder: move it away" % p)
        for d in parents(p):
            self._cand.add(d)
        if k == "f":
            self._write(journal.Op("del", self._n, p))
            self.stats["delete"] += 1

    def _write(self, op):
        if self._f is None:
            fs.makedirs(self.inst.txn + "/stage")
            fs.makedirs(self.inst.txn + "/backup")
            self._f = fs.open_write(self.inst.plan_path)
            self._f.write(journal.header(self._commit_record(), self.old).encode())
        if op.n >= 0:
            self._n += 1
        self._f.write(op.line().encode())

    def _close_plan(self):
        inst = self.inst
        rm = []
        for d in self._cand:
            if d not in self._seen and fs.kind(inst.tpath(d)) == "d":
                rm.append(d)
        rm.sort(key=lambda d: -d.count("/"))
        for p in self._dir_to_file:
            if p not in rm:
                raise ConflictError("%r is a folder in the target, but the release has a file there: move it away" % p)
        for d in rm:
            self._write(journal.Op("rmdir", -1, d))
        for d in self._mk:
            self._write(journal.Op("mkdir", -1, d))
        self.stats["folders"] = len(rm) + len(self._mk)
        if self._f is not None:
            f, self._f = self._f, None
            f.close()
        if self._file_to_dir:
            self._check_file_to_dir()
        self._check_space()

    def _check_file_to_dir(self):
        dels = 0
        for op in journal.Journal(self.inst.plan_path).ops("del"):
            if op.path in self._file_to_dir:
                dels += 1
        if dels != len(self._file_to_dir):
            raise ConflictError("%r is a file in the target, but the release needs a folder there: move it away" % self._file_to_dir[0])

    def _check_space(self):
        if not self.stats["put"]:
            return
        st = fs.statvfs(self.inst.state)
        if not st:
            return
        bs = st[0] or 4096
        free = bs * (st[4] + self._ready_blocks(bs))
        need = (self._need // bs + 2 * self.stats["put"] + 4) * bs
        if need > free:
            raise NoSpaceError("not enough flash to stage the update: %d files of %d bytes need %d bytes, %d free: remove files or ship a smaller release" % (self.stats["put"], self._need, need, free))

    def _ready_blocks(self, bs):
        # The blocks of the content the update bundle staged (mbundle.py):
        # it moves into the stage, so the stage needs no room for it.
        d = self.inst.state + READY
        n = 0
        if fs.kind(d) == "d":
            for e in fs.ilistdir(d):
                n += fs.size(d + "/" + e[0]) // bs + 1
        return n


def _hex(sha):
    if isinstance(sha, (bytes, bytearray)):
        if len(sha) in (32, 20):
            return hexlify(sha).decode()
        return sha.decode()
    return sha or ""


def _check_path(p):
    if not p or p[0] == "/" or p[-1] == "/" or "\n" in p or "//" in p:
        raise InstallError("manifest path %r: not a clean relative path" % p)
    for c in p.split("/"):
        if c == "." or c == "..":
            raise InstallError("manifest path %r: . and .. are not allowed" % p)


def parents(p):
    """The folders of path p, shallowest first ("a", "a/b" for "a/b/c")."""
    i = p.find("/")
    while i >= 0:
        yield p[:i]
        i = p.find("/", i + 1)


def _tuples(entries):
    """Entries as tuples (mode, size, zsize, digest, path): from tuples,
    from manifest.py's (kind, mode, size, zsize, digest, path), or from
    objects with attributes of those names."""
    for e in entries:
        if isinstance(e, tuple):
            yield e[1:] if len(e) == 6 else e
        else:
            yield (e.mode, e.size, e.zsize, e.sha256, e.path)


def _next(it):
    try:
        return next(it)
    except StopIteration:
        return None
