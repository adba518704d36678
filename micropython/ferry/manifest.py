# Ferry release manifests, read as a stream: the header first, then one file
# entry at a time from a fixed buffer, so that no manifest is ever held whole.
# The rules are those of Go's internal/manifest (ParseManifest, ValidPath,
# ParsePointer's header): a reader must accept exactly what the Linux agent
# accepts. The whole manifest is valid only once files() has run to its end
# without an error: plan with a full pass before acting on any entry.
#
# Known differences, all on documents no publisher writes: a line longer
# than the buffer (MAX_LINE) is refused; a channel or
# version that is not UTF-8 is refused (Go takes any bytes there, but a
# signed note is UTF-8 throughout, so only unsigned text can differ).
from micropython import const
from ferry.text import utf8_ok
from ferry.values import _q, parse_digest, parse_int, parse_uint  # noqa: F401 (the API's)

MAX_PATH = const(1024)
MAX_LINE = const(1200)  # a file line with a 1024-byte path and any sizes

from ferry.errors import ManifestError, VersionError, PathError, TooLargeError  # noqa: F401 (the API's)
from ferry.errors import ManifestFormatError as FormatError


DEFAULT_MAX_FILES = 100000
DEFAULT_MAX_FILE_SIZE = 4 << 30
DEFAULT_MAX_TOTAL = 16 << 30
def _utf8(b):
    # "" when b is valid UTF-8 (Go's rules) without control characters
    # (unicode.IsControl: C0, DEL, C1), else what is wrong.
    if not utf8_ok(b):
        return "not valid UTF-8"
    for c in b:
        if c < 0x20 or c == 0x7F:
            return "contains a control character"
    i = b.find(b"\xc2")
    while i >= 0:
        if 0x80 <= b[i + 1] <= 0x9F:
            return "contains a control character"
        i = b.find(b"\xc2", i + 1)
    return ""


def valid_path(p):
    """Raise PathError unless p (bytes) is a path a manifest may name, by
    the rules of Go's manifest.ValidPath (same checks, same order)."""
    why = None
    if not p:
        why = "empty"
    elif len(p) > MAX_PATH:
        why = "longer than %d bytes" % MAX_PATH
    else:
        u = _utf8(p)
        if u == "not valid UTF-8":
            why = u
        elif p[0] == 47:
            why = "absolute"
        elif 92 in p:
            why = "contains a backslash"
        elif len(p) >= 2 and p[1] == 58:
            why = "has a drive letter"
        elif p[-1] == 47:
            why = "ends with a slash"
        elif u:
            why = u
        else:
            for c in p.split(b"/"):
                if not c:
                    why = "has an empty component"
                elif c == b"." or c == b"..":
                    why = "has a %s component" % _q(c)
                elif c[:6].lower() == b".ferry":
                    why = "names Ferry's reserved .ferry state folder"
                if why:
                    break
    if why:
        raise PathError("invalid path %s: %s" % (_q(p), why))


def parse_file_line(l):
    """One file line "f MODE SIZE ZSIZE SHA256 PATH" (or "g ... GITSHA1
    PATH") as Go's ParseFileLine: returns (kind, mode, size, zsize, digest,
    path) with kind b"f" or b"g", digest bytes and path bytes."""
    parts = l.split(b" ", 5)
    if len(parts) != 6 or parts[0] not in (b"f", b"g"):
        raise FormatError("file line %s: want \"f MODE SIZE ZSIZE SHA256 PATH\"" % _q(l))
    kind = parts[0]
    mode = parse_uint(parts[1], 8, 32)
    if mode is None or mode & ~0o777:
        raise FormatError("mode %s is not octal permission bits" % _q(parts[1]))
    size = parse_int(parts[2])
    if size is None or size < 0:
        raise FormatError("size %s" % _q(parts[2]))
    zsize = parse_int(parts[3])
    if zsize is None or zsize < 0:
        raise FormatError("compressed size %s" % _q(parts[3]))
    if kind == b"g":
        dig = parse_digest(parts[4], 20)
        if dig is None:
            raise FormatError("git sha1 %s is not 40 hex characters" % _q(parts[4]))
        if dig == bytes(20):
            raise FormatError("git sha1 %s is all zero" % _q(parts[4]))
    else:
        dig = parse_digest(parts[4], 32)
        if dig is None:
            raise FormatError("digest %s is not 64 hex characters" % _q(parts[4]))
    valid_path(parts[5])
    return kind, mode, size, zsize, dig, parts[5]


class Lines:
    # Lines of the first `end` bytes of the open binary file f, read into a
    # fixed buffer: next() returns a memoryview of one line without its '\n'
    # (valid until the next call), or None at the end.

    def __init__(self, f, end, buf=None):
        self.f = f
        self.left = end
        self.buf = buf if buf is not None else bytearray(MAX_LINE + 1)
        self.mv = memoryview(self.buf)
        self.start = self.stop = 0
        self.n = 0

    def next(self):
        buf = self.buf
        while True:
            i = buf.find(b"\n", self.start, self.stop)
            if i >= 0:
                line = self.mv[self.start:i]
                self.start = i + 1
                self.n += 1
                return line
            if self.start:
                k = self.stop - self.start
                buf[:k] = self.mv[self.start:self.stop]
                self.start, self.stop = 0, k
            room = len(buf) - self.stop
            if not room:
                raise TooLargeError("line %d is longer than %d bytes" % (self.n + 1, len(buf) - 1))
            n = self.f.readinto(self.mv[self.stop:self.stop + min(room, self.left)]) if self.left else 0
            if not n:
                if self.stop:
                    raise FormatError("does not end with a newline")
                return None
            self.stop += n
            self.left -= n


class Manifest:
    # A manifest read as a stream from the open binary file f (from its
    # start), of which the first `end` bytes are the manifest text (note.open_file's text_size for
    # a signed note on flash). The header is read at once: channel, version
    # (str), sequence, created, expires (unix seconds), count. files() then
    # yields each entry (kind, mode, size, zsize, digest, path) with path a
    # str, checking every rule of ParseManifest as it goes.

    def __init__(self, f, end, max_files=0, max_file_size=0, max_total=0, buf=None, header=True):
        # header=False: the header was checked before (a manifest verified
        # and checked earlier, read again to plan): only its "files" line is
        # read, no header field is set, and header.py is not loaded.
        self.max_files = max_files if max_files > 0 else DEFAULT_MAX_FILES
        self.max_file_size = max_file_size if max_file_size > 0 else DEFAULT_MAX_FILE_SIZE
        self.max_total = max_total if max_total > 0 else DEFAULT_MAX_TOTAL
        f.seek(0)
        self._lines = Lines(f, end, buf)
        self.total = 0
        self.signed = True  # every file has a SHA-256 and none a git SHA-1
        if header:
            self._header()
        else:
            self._files_line()
        if self.count > self.max_files:
            raise TooLargeError("%d files, limit is %d (raise max_files)" % (self.count, self.max_files))

    def _header(self):
        from ferry.header import Header, check_name
        h = Header(b"ferry-manifest")
        while True:
            line = self._lines.next()
            if line is None:
                raise FormatError("no \"files\" line")
            if h.add(line) == b"files" and h.n > 1:
                break
        channel = h.get(b"channel", "s")
        version = h.get(b"version", "s")
        self.sequence = h.get(b"sequence", "u")
        self.created = h.get(b"created", "t")[0]
        self.expires = h.expires()
        self.count = parse_int(h.values[b"files"])
        if self.count is None or self.count < 0:
            raise FormatError("line %d: files count %s" % (h.lines[b"files"], _q(h.values[b"files"])))
        self.channel = check_name("channel", channel)
        self.version = check_name("version", version)
        self._first = h.n

    def _files_line(self):
        first = True
        while True:
            line = self._lines.next()
            if line is None:
                raise FormatError("no \"files\" line")
            if not first and line[:6] == b"files ":
                break
            first = False
        self.count = parse_int(bytes(line[6:]))
        if self.count is None or self.count < 0:
            raise FormatError("line %d: files count %s" % (self._lines.n, _q(line[6:])))

    def files(self):
        lines, seen, total = self._lines, 0, 0
        prev, stack = b"", []
        while True:
            l = lines.next()
            if l is None:
                break
            if seen == self.count:
                raise FormatError("line %d: more file lines than the declared %d" % (lines.n, self.count))
            try:
                e = parse_file_line(bytes(l))
            except ManifestError as err:
                raise type(err)("line %d: %s" % (lines.n, err.args[0]))
            l = None
            kind, mode, size, zsize, dig, path = e
            if seen and path <= prev:
                raise FormatError("path %s is out of order or repeated" % _q(path))
            if size > self.max_file_size:
                raise TooLargeError("%s is %d bytes, limit is %d (raise max_file_mb)" % (_q(path), size, self.max_file_size))
            _conflict(prev, path, stack)
            if kind == b"g" or dig == bytes(32):
                self.signed = False
            total += size
            if total > self.max_total:
                raise TooLargeError("release is more than %d bytes, limit is %d (raise max_total_mb)" % (total, self.max_total))
            seen += 1
            prev = path
            yield kind, mode, size, zsize, dig, path.decode()
        if seen != self.count:
            raise FormatError("%d file lines, header declares %d" % (seen, self.count))
        self.total = total


def _conflict(prev, path, stack):
    # checkDirFileConflicts as a stream: stack holds the lengths of earlier
    # paths that are prefixes of prev (prev's own length last); in sorted
    # order only those can be a folder of a later path.
    c = 0
    m = min(len(prev), len(path))
    while c < m and prev[c] == path[c]:
        c += 1
    while stack and stack[-1] > c:
        stack.pop()
    for n in stack:
        if path[n] == 47:
            raise PathError("invalid path %s is a file and also a folder of %s" % (_q(path[:n]), _q(path)))
    stack.append(len(path))
