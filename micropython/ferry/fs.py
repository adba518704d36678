# The one module every Ferry filesystem call goes through.
#
# The board's filesystem (littlefs on an RP2040 or ESP32) is reached only
# through the functions below, so that a test can swap in a flash model
# (micropython/tests/flashmodel.py) that counts every operation and cuts the
# power at any one of them: use(backend) installs a backend, use(None) puts the
# real one back.
#
# Besides the wrappers, kind, size, exists, is_empty_dir, remove_tree,
# makedirs, write_atomic and read_small are built on them (other modules use
# these; keep them stable).
#
# A backend has: open(path, mode) (modes "rb" and "wb"; the file object has
# readinto, write, close), rename, remove, mkdir, rmdir, stat, ilistdir,
# statvfs, sync (may be None) and ENOENT (the errno its stat raises for a
# missing path). Ports disagree on that number (the WebAssembly port raises 44
# where errno.ENOENT is 2), so the real backend probes it once.

import os

S_IFDIR = 0x4000


class _OS:
    # The real filesystem.

    def __init__(self):
        self.open = open
        self.rename = os.rename
        self.remove = os.remove
        self.mkdir = os.mkdir
        self.rmdir = os.rmdir
        self.stat = os.stat
        self.ilistdir = os.ilistdir
        self.statvfs = getattr(os, "statvfs", None)
        self.sync = getattr(os, "sync", None)
        self.ENOENT = _probe()


def _probe():
    try:
        os.stat("/.ferry-no-such-path/x")
    except OSError as e:
        return e.args[0]
    return 2


_real = _OS()
_b = _real


def use(backend):
    """Route every call to backend (None: the real filesystem)."""
    global _b
    _b = backend or _real


def open_read(path):
    return _b.open(path, "rb")


def open_write(path):
    """Create or truncate path. Until close() returns, a power cut leaves
    what was there before (littlefs commits a file when it is closed)."""
    return _b.open(path, "wb")


def rename(src, dst):
    _b.rename(src, dst)


def remove(path):
    _b.remove(path)


def mkdir(path):
    _b.mkdir(path)


def rmdir(path):
    _b.rmdir(path)


def stat(path):
    return _b.stat(path)


def ilistdir(path):
    return _b.ilistdir(path)


def statvfs(path):
    """os.statvfs(path), or None where the port lacks it."""
    f = _b.statvfs
    return f(path) if f else None


def sync():
    """os.sync() where the port has it (littlefs is durable at close and
    rename; some ports buffer blocks until sync)."""
    f = _b.sync
    if f:
        f()


def kind(path):
    """'d' for a folder, 'f' for a file, None when path does not exist."""
    try:
        st = _b.stat(path)
    except OSError as e:
        if e.args[0] == _b.ENOENT or _under_file(path):
            return None
        raise
    return "d" if st[0] & S_IFDIR else "f"


def _under_file(path):
    # stat("a/b") where a is a file fails with ENOTDIR (its number varies
    # by port): b does not exist.
    i = path.rfind("/")
    return i > 0 and kind(path[:i]) == "f"


def size(path):
    """The size of the file at path, or -1 when it is missing or a folder."""
    try:
        st = _b.stat(path)
    except OSError as e:
        if e.args[0] == _b.ENOENT or _under_file(path):
            return -1
        raise
    return -1 if st[0] & S_IFDIR else st[6]


def exists(path):
    return kind(path) is not None


def is_empty_dir(path):
    n = 0
    for _ in _b.ilistdir(path):  # to the end: the port closes the folder then
        n += 1
    return n == 0


def remove_tree(path):
    """Remove path and everything below it (nothing if it is missing)."""
    k = kind(path)
    if k is None:
        return
    if k == "f":
        _b.remove(path)
        return
    while True:
        names = []
        for e in _b.ilistdir(path):  # to the end, keeping a few names
            if len(names) < 8:
                names.append((e[0], e[1]))
        if not names:
            break
        for name, typ in names:
            p = path + "/" + name
            if typ & S_IFDIR:
                remove_tree(p)
            else:
                _b.remove(p)
    _b.rmdir(path)


def makedirs(path):
    """Create path and its missing parents."""
    if not path or path == "/" or kind(path) == "d":
        return
    i = path.rfind("/")
    if i > 0:
        makedirs(path[:i])
    _b.mkdir(path)


def write_atomic(path, data):
    """Replace path with data: temp file, close, rename (the commit), sync."""
    if isinstance(data, str):
        data = data.encode()
    tmp = path + ".tmp"
    f = _b.open(tmp, "wb")
    try:
        f.write(data)
    finally:
        f.close()
    _b.rename(tmp, path)
    sync()


def read_small(path, limit):
    """The content of a small file (at most limit bytes), or None if it is
    missing."""
    n = size(path)
    if n < 0:
        return None
    if n > limit:
        raise OSError("%s: %d bytes, more than %d: remove it" % (path, n, limit))
    f = _b.open(path, "rb")
    try:
        buf = bytearray(n)
        got = f.readinto(buf) if n else 0
    finally:
        f.close()
    return bytes(buf[:got])
