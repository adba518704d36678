# ferry/ops.py: the ops of an install plan or journal (the file format is
# in journal.py), read as a stream through one small buffer, and the
# install errors. The installer (install.py, txn.py, journal.py) and the
# download step (stage.Staging, which holds none of the installer's code)
# share them.

from ferry import fs

MAX_LINE = 1024
READY = "/downloads/ready"  # <state>'s files the update bundle decoded ahead of the plan, by digest (mbundle.py)
HEADER = 3  # the magic line, the record, the old record


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


def lines(path, start=0):
    """Yield the lines of the file at path (str, without the newline) from
    byte start, read through one buffer of MAX_LINE bytes."""
    f = fs.open_read(path)
    if start:
        f.seek(start)
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


def ops(path, kind=None):
    # Yield the ops of the plan or journal at path (all, or those of one
    # kind) in file order, past its header.
    i = 0
    for line in lines(path):
        i += 1
        if i <= HEADER:
            continue
        op = parse_op(line, path)
        if kind is None or op.kind == kind:
            yield op


def op_at(path, pos=None, kind=None):
    # The first op (of kind) of the plan or journal at path from byte pos
    # (None: its first op), and the offset after its line: (op, offset), or
    # (None, None) past the last. Nothing stays open: a caller that reads
    # one op a step (stage.needed) holds only the offset between steps.
    g = lines(path, pos or 0)
    skip = 0 if pos else HEADER
    pos = pos or 0
    try:
        for line in g:
            pos += len(line.encode()) + 1
            if skip:
                skip -= 1
                continue
            op = parse_op(line, path)
            if kind is None or op.kind == kind:
                return op, pos
    finally:
        g.close()
    return None, None
