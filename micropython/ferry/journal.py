# The install journal and the version record (see the comment at the top of install.py).
#
# A journal is text, one line an op, read as a stream through one small buffer:
#
#     ferry-journal 1
#     record {"channel": "stable", "version": "1.1", ...}
#     old {"channel": "stable", "version": "1.0", ...}      (or: old null)
#     put <n> <size> <zsize> <mode octal> <sha256 hex> <path>
#     del <n> <path>
#     rmdir <path>
#     mkdir <path>
#
# Paths run to the end of the line (they may hold spaces, never a newline).

import json

from ferry import fs

MAGIC = "ferry-journal 1"
MAX_LINE = 1024
MAX_RECORD = 4096


class InstallError(Exception):
    # An install failed; the target was left as it was.
    pass


class ConflictError(InstallError):
    # The target has something in the way (or a release is on trial).
    pass


class NoSpaceError(InstallError):
    # Not enough free flash to stage the update.
    pass


class ChecksumError(InstallError):
    # Staged content does not match the manifest.
    pass


class ShortError(InstallError):
    # Staged content is shorter than the manifest says.
    pass


class StateError(InstallError):
    # The state folder holds something unreadable.
    pass


def lines(path):
    """Yield the lines of the file at path (str, without the newline),
    read through one buffer of MAX_LINE bytes."""
    f = fs.open_read(path)
    buf = bytearray(MAX_LINE)
    mv = memoryview(buf)
    lo = hi = 0
    try:
        while True:
            i = buf.find(b"\n", lo, hi)
            if i >= 0:
                yield str(mv[lo:i], "utf-8")
                lo = i + 1
                continue
            if lo == hi:
                lo = hi = 0
            elif lo:
                buf[:hi - lo] = mv[lo:hi]
                hi -= lo
                lo = 0
            if hi == MAX_LINE:
                raise StateError("%s: a line longer than %d bytes: remove %s" % (path, MAX_LINE, path))
            n = f.readinto(mv[hi:])
            if not n:
                if hi:
                    raise StateError("%s: last line has no newline: remove %s" % (path, path))
                return
            hi += n
    finally:
        f.close()


class Op:
    # One line of a journal: kind is "put", "del", "mkdir" or "rmdir".

    def __init__(self, kind, n, path, size=0, zsize=0, mode=0o644, sha256=""):
        self.kind = kind
        self.n = n
        self.path = path
        self.size = size
        self.zsize = zsize
        self.mode = mode
        self.sha256 = sha256
        self.base = None

    def line(self):
        k = self.kind
        if k == "put":
            return "put %d %d %d %o %s %s\n" % (self.n, self.size, self.zsize, self.mode, self.sha256, self.path)
        if k == "del":
            return "del %d %s\n" % (self.n, self.path)
        return "%s %s\n" % (k, self.path)


def parse_op(line, where):
    try:
        if line.startswith("put "):
            _, n, size, zsize, mode, sha, path = line.split(" ", 6)
            return Op("put", int(n), path, int(size), int(zsize), int(mode, 8), sha)
        if line.startswith("del "):
            _, n, path = line.split(" ", 2)
            return Op("del", int(n), path)
        if line.startswith("mkdir ") or line.startswith("rmdir "):
            return Op(line[:5], -1, line[6:])
    except ValueError:
        pass
    raise StateError("%s: bad line %r: remove the txn folder after restoring the target by hand" % (where, line[:60]))


def header(record, old):
    return "%s\nrecord %s\nold %s\n" % (MAGIC, json.dumps(record), json.dumps(old))


class Journal:
    # A journal (or plan) file on flash: its records, and its ops streamed.

    def __init__(self, path):
        self.path = path
        self.record = None
        self.old = None
        it = lines(path)
        try:
            if next(it) != MAGIC:
                raise StateError("%s: not a Ferry journal: remove it" % path)
            self.record = _json_line(next(it), "record ", path)
            self.old = _json_line(next(it), "old ", path)
        except StopIteration:
            raise StateError("%s: cut short: remove it" % path)
        finally:
            for _ in it:  # read to the end: closes the file
                pass
        if not isinstance(self.record, dict):
            raise StateError("%s: no record: remove it" % path)

    def ops(self, kind=None):
        """Yield the ops (all, or those of one kind) in file order."""
        i = 0
        for line in lines(self.path):
            i += 1
            if i <= 3:
                continue
            op = parse_op(line, self.path)
            if kind is None or op.kind == kind:
                yield op

    def dirs(self):
        """The paths of the rmdir ops and of the mkdir ops, in file order
        (two lists, read in one pass: folders are few)."""
        rm, mk = [], []
        for op in self.ops():
            if op.kind == "rmdir":
                rm.append(op.path)
            elif op.kind == "mkdir":
                mk.append(op.path)
        return rm, mk


def _json_line(line, prefix, path):
    if not line.startswith(prefix):
        raise StateError("%s: expected %r: remove it" % (path, prefix.strip()))
    try:
        return json.loads(line[len(prefix):])
    except ValueError:
        raise StateError("%s: bad %s line: remove it" % (path, prefix.strip()))


def read_record(path):
    """The version record at path (a dict), or None if there is none."""
    data = fs.read_small(path, MAX_RECORD)
    if data is None:
        return None
    try:
        r = json.loads(data)
    except ValueError:
        r = None
    if not isinstance(r, dict) or "version" not in r or "manifest" not in r:
        raise StateError("%s: unreadable version record: reinstall the board or remove it" % path)
    return r


def write_record(path, rec):
    """Replace the version record atomically (temp, close, rename, sync)."""
    fs.write_atomic(path, json.dumps(rec) + "\n")


def same(a, b):
    """Whether records a and b name the same release."""
    return a is not None and b is not None and a.get("manifest") == b.get("manifest") and a.get("version") == b.get("version")
