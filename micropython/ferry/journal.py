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
from ferry.ops import (  # noqa: F401 (the API's: install.py re-exports the errors)
    ChecksumError,
    ConflictError,
    InstallError,
    NoSpaceError,
    Op,
    ShortError,
    StateError,
    lines,
    ops,
    parse_op,
)

MAGIC = "ferry-journal 1"
MAX_RECORD = 4096


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
        # Yield the ops (all, or those of one kind) in file order.
        return ops(self.path, kind)

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
