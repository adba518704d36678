"""A flash model with littlefs semantics, for power-cut tests (test-only).

It implements ferry.fs's backend interface over an in-memory tree:
- rename, remove, mkdir and rmdir are atomic;
- a file written is durable only when it is closed: at a power cut a file
  still open reverts to what it was (a new file is absent, or, with
  torn="empty", an empty file as littlefs leaves after its create commit; a
  rewritten file keeps its old content);
- every call (open, readinto, write, close, stat, ilistdir, rename, remove,
  mkdir, rmdir, statvfs, sync) is one operation; arm(k) cuts the power
  before operation k takes effect: it raises PowerCut, and from then on
  every call raises PowerCut until reboot().
"""

ENOENT = 2
EEXIST = 17
ENOTDIR = 20
EISDIR = 21
EINVAL = 22
ENOTEMPTY = 39
S_IFDIR = 0x4000
S_IFREG = 0x8000


class PowerCut(BaseException):
    """The power went off: no handler of the code under test may go on
    (it is not an Exception, as a real cut raises nothing at all)."""


def _parent(p):
    i = p.rfind("/")
    return p[:i] if i > 0 else "/"


class Flash:
    ENOENT = ENOENT

    def __init__(self, torn="absent", block=512, blocks=1024):
        self.files = {}  # path -> bytes, durable
        self.dirs = set(["/"])
        self.torn = torn
        self.block = block
        self.blocks = blocks
        self.ops = 0
        self.writes = 0  # operations that change the flash
        self.cut_at = -1
        self.cut = False
        self.open_w = []
        self.log = None  # a list: every changing operation as (name, path)

    def copy(self):
        f = Flash(self.torn, self.block, self.blocks)
        f.files = dict(self.files)
        f.dirs = set(self.dirs)
        return f

    def arm(self, k=-1):
        """Count from 0 again; cut before operation k (-1: never)."""
        self.ops = 0
        self.writes = 0
        self.cut_at = k
        self.cut = False

    def reboot(self):
        """Power comes back: files left open are lost (reverted)."""
        self.open_w = []
        self.cut = False
        self.cut_at = -1

    def state(self):
        """A hashable picture of the durable flash."""
        return (tuple(sorted(self.files.items())), tuple(sorted(self.dirs)))

    def _op(self, write=False, name="", p=""):
        if self.cut:
            raise PowerCut("flash is off")
        if self.ops == self.cut_at:
            self.cut = True
            raise PowerCut("cut at operation %d" % self.ops)
        self.ops += 1
        if write:
            self.writes += 1
            if self.log is not None:
                self.log.append((name, p))

    def _err(self, code, p):
        raise OSError(code, p)

    # --- the ferry.fs backend interface ---------------------------------
    def open(self, p, mode):
        self._op("w" in mode, "open", p)
        if mode == "rb":
            if p in self.dirs:
                self._err(EISDIR, p)
            if p not in self.files:
                self._err(ENOENT, p)
            return _R(self, self.files[p])
        if mode != "wb":
            self._err(EINVAL, mode)
        if p in self.dirs:
            self._err(EISDIR, p)
        if _parent(p) not in self.dirs:
            self._err(ENOENT, p)
        if p not in self.files and self.torn == "empty":
            self.files[p] = b""  # littlefs commits the new entry at open
        w = _W(self, p)
        self.open_w.append(w)
        return w

    def rename(self, a, b):
        self._op(True, "rename", a + " -> " + b)
        if a in self.files:
            if b in self.dirs:
                self._err(EISDIR, b)
            if _parent(b) not in self.dirs:
                self._err(ENOENT, b)
            self.files[b] = self.files.pop(a)
            return
        if a not in self.dirs or a == "/":
            self._err(ENOENT, a)
        if b in self.files or (b in self.dirs and self._children(b)):
            self._err(EEXIST, b)
        if _parent(b) not in self.dirs or b.startswith(a + "/"):
            self._err(EINVAL, b)
        pre = a + "/"
        for k in [k for k in self.files if k.startswith(pre)]:
            self.files[b + k[len(a):]] = self.files.pop(k)
        for d in [d for d in self.dirs if d == a or d.startswith(pre)]:
            self.dirs.discard(d)
            self.dirs.add(b + d[len(a):])

    def remove(self, p):
        self._op(True, "remove", p)
        if p in self.dirs:
            self._err(EISDIR, p)
        if p not in self.files:
            self._err(ENOENT, p)
        del self.files[p]

    def mkdir(self, p):
        self._op(True, "mkdir", p)
        if p in self.files or p in self.dirs:
            self._err(EEXIST, p)
        if _parent(p) not in self.dirs:
            self._err(ENOENT, p)
        self.dirs.add(p)

    def rmdir(self, p):
        self._op(True, "rmdir", p)
        if p in self.files:
            self._err(ENOTDIR, p)
        if p not in self.dirs or p == "/":
            self._err(ENOENT, p)
        if self._children(p):
            self._err(ENOTEMPTY, p)
        self.dirs.discard(p)

    def stat(self, p):
        self._op()
        if p in self.dirs:
            return (S_IFDIR, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if p in self.files:
            return (S_IFREG, 0, 0, 0, 0, 0, len(self.files[p]), 0, 0, 0)
        i = p.rfind("/")
        while i > 0:
            if p[:i] in self.files:
                self._err(ENOTDIR, p)  # as littlefs and POSIX say
            i = p.rfind("/", 0, i)
        self._err(ENOENT, p)

    def ilistdir(self, p):
        self._op()
        if p not in self.dirs:
            self._err(ENOENT, p)
        return iter(self._children(p))

    def statvfs(self, p):
        self._op()
        used = len(self.dirs)
        for v in self.files.values():
            used += 1 + (len(v) + self.block - 1) // self.block
        free = max(0, self.blocks - used)
        return (self.block, self.block, self.blocks, free, free, 0, 0, 0, 0, 255)

    def sync(self):
        self._op()

    def _children(self, p):
        pre = "/" if p == "/" else p + "/"
        out = []
        for k in self.files:
            if k.startswith(pre) and "/" not in k[len(pre):]:
                out.append((k[len(pre):], S_IFREG, 0, len(self.files[k])))
        for d in self.dirs:
            if d != "/" and d.startswith(pre) and "/" not in d[len(pre):]:
                out.append((d[len(pre):], S_IFDIR, 0, 0))
        return out


class _R:
    def __init__(self, fl, data):
        self.fl = fl
        self.data = data
        self.pos = 0

    def readinto(self, buf):
        self.fl._op()
        n = min(len(buf), len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n

    def seek(self, pos, whence=0):
        # As littlefs's: from the start, the position (1) or the end (2).
        self.fl._op()
        self.pos = max(0, pos + (0, self.pos, len(self.data))[whence])
        return self.pos

    def close(self):
        self.fl._op()


class _W:
    def __init__(self, fl, p):
        self.fl = fl
        self.p = p
        self.parts = []
        self.closed = False

    def write(self, b):
        self.fl._op(True, "write", self.p)
        self.parts.append(bytes(b))
        return len(b)

    def close(self):
        if self.closed:
            return
        self.fl._op(True, "close", self.p)
        self.closed = True
        if self in self.fl.open_w:
            self.fl.open_w.remove(self)
        if _parent(self.p) not in self.fl.dirs:
            raise OSError(ENOENT, self.p)
        self.fl.files[self.p] = b"".join(self.parts)
