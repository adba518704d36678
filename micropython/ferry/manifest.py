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

MAX_PATH = const(1024)
MAX_LINE = const(1200)  # a file line with a 1024-byte path and any sizes

from ferry.errors import ManifestError, VersionError, PathError, TooLargeError  # noqa: F401 (the API's)
from ferry.errors import ManifestFormatError as FormatError


DEFAULT_MAX_FILES = 100000
DEFAULT_MAX_FILE_SIZE = 4 << 30
DEFAULT_MAX_TOTAL = 16 << 30
_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z: Go's zero time.Time


def _q(b):
    # A short printable form of untrusted bytes for messages.
    if len(b) > 64:
        b = bytes(b[:64]) + b"..."
    return repr(bytes(b))[1:]


def parse_uint(s, base=10, bits=64):
    """strconv.ParseUint(s, base, bits) on bytes; None when invalid."""
    if not s:
        return None
    v = 0
    for c in s:
        d = c - 48
        if d < 0 or d >= base:
            return None
        v = v * base + d
    return v if v < (1 << bits) else None


def parse_int(s, bits=64):
    """strconv.ParseInt(s, 10, bits) on bytes: an optional sign; None when
    invalid or out of range."""
    neg = s[:1] == b"-"
    if s[:1] in (b"+", b"-"):
        s = s[1:]
    v = parse_uint(s, 10, bits)
    if v is None:
        return None
    if neg:
        v = -v
    if v < -(1 << (bits - 1)) or v >= (1 << (bits - 1)):
        return None
    return v


def _days(y, m, d):
    # Days from 1970-01-01 to the civil date (proleptic Gregorian).
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _dim(m, y):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _num(s, i, n):
    # The n-digit number at s[i:i+n], or None.
    v = parse_uint(s[i:i + n]) if i + n <= len(s) else None
    return v


def parse_time(s):
    """An RFC 3339 time exactly as Go's time.Parse(time.RFC3339) reads it:
    its fast path, then its general parser, which also takes a one-digit
    hour, ',' before a fraction and zone offsets up to 24:60. Returns
    (unix seconds, nanoseconds) or None."""
    s = bytes(s)
    if len(s) < 12 or s[4] != 45 or s[7] != 45 or s[10] != 84:
        return None
    y, mo, d = _num(s, 0, 4), _num(s, 5, 2), _num(s, 8, 2)
    i = 11
    h = _num(s, i, 2)
    if h is None:  # one digit (only the general parser takes it)
        h = _num(s, i, 1)
        i -= 1
    i += 2
    if y is None or mo is None or d is None or h is None or s[i:i + 1] != b":":
        return None
    mi, sec = _num(s, i + 1, 2), _num(s, i + 4, 2)
    if mi is None or sec is None or s[i + 3:i + 4] != b":":
        return None
    if not (1 <= mo <= 12 and 1 <= d <= _dim(mo, y) and h <= 23 and mi <= 59 and sec <= 59):
        return None
    s = s[i + 6:]
    nsec = 0
    if len(s) >= 2 and s[0] in (44, 46) and 48 <= s[1] <= 57:
        n = 2
        while n < len(s) and 48 <= s[n] <= 57:
            n += 1
        nsec = parse_uint((s[1:min(n, 10)] + b"000000000")[:9])
        s = s[n:]
    t = _days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
    if s == b"Z":
        return t, nsec
    if len(s) != 6 or s[0] not in (43, 45) or s[3] != 58:
        return None
    zh, zm = _num(s, 1, 2), _num(s, 4, 2)
    if zh is None or zm is None or zh > 24 or zm > 60:
        return None
    off = (zh * 60 + zm) * 60
    return t - (off if s[0] == 43 else -off), nsec


def check_name(field, v):
    """checkHeader's rule for channel and version; returns v as a str."""
    if not v or len(v) > 128 or any(c in b" \t\r\n/\\" for c in v):
        raise FormatError("%s %s must be 1 to 128 characters without spaces or slashes" % (field, _q(v)))
    if not utf8_ok(v):
        raise FormatError("%s %s is not UTF-8" % (field, _q(v)))
    return v.decode()


class Header:
    # The key-value lines that open a manifest or a pointer (parseHeader).

    def __init__(self, magic):
        self.magic = magic
        self.values = {}
        self.lines = {}
        self.n = 0

    def add(self, line):
        """Take the next line (bytes without '\\n'); returns its key."""
        self.n += 1
        key, sp, val = bytes(line).partition(b" ")
        if self.n == 1:
            if key != self.magic:
                raise FormatError("first line %s: not a %s document" % (_q(line), self.magic.decode()))
            if val != b"1":
                raise VersionError("%s version %s, this agent reads version 1" % (self.magic.decode(), _q(val)))
            return key
        if not sp or not key:
            raise FormatError("line %d: %s is not \"key value\"" % (self.n, _q(line)))
        if key in self.values:
            raise FormatError("line %d: key %s repeated" % (self.n, _q(key)))
        self.values[key] = val
        self.lines[key] = self.n
        return key

    def get(self, key, kind):
        """The value of a required key, parsed: kind is 's' (string), 'u'
        (uint64), 'i' (int64), 't' (time: unix seconds), 'd' (SHA-256)."""
        if key not in self.values:
            raise FormatError("no %s line" % _q(key))
        v = self.values[key]
        if kind == "s":
            r = v
        elif kind == "u":
            r = parse_uint(v)
        elif kind == "i":
            r = parse_int(v)
        elif kind == "t":
            r = parse_time(v)
        else:
            r = parse_digest(v, 32)
        if r is None:
            raise FormatError("line %d: %s %s is not valid" % (self.lines[key], key.decode(), _q(v)))
        return r

    def expires(self):
        t = self.get(b"expires", "t")
        if t == (_ZERO_TIME, 0):
            raise FormatError("no expires time")
        return t[0]


_HEX = b"0123456789abcdefABCDEF"


def parse_digest(h, n):
    """n bytes from 2n hex digits (either case, as Go's hex.Decode); None
    when not."""
    if len(h) != 2 * n:
        return None
    for c in h:
        if c not in _HEX:
            return None
    return bytes(int(h[i:i + 2], 16) for i in range(0, 2 * n, 2))


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

    def __init__(self, f, end, max_files=0, max_file_size=0, max_total=0, buf=None):
        self.max_files = max_files if max_files > 0 else DEFAULT_MAX_FILES
        self.max_file_size = max_file_size if max_file_size > 0 else DEFAULT_MAX_FILE_SIZE
        self.max_total = max_total if max_total > 0 else DEFAULT_MAX_TOTAL
        f.seek(0)
        self._lines = Lines(f, end, buf)
        h = Header(b"ferry-manifest")
        while True:
            line = self._lines.next()
            if line is None:
                raise FormatError("no \"files\" line")
            if h.add(line) == b"files" and h.n > 1:
                break
        self.channel = h.get(b"channel", "s")
        self.version = h.get(b"version", "s")
        self.sequence = h.get(b"sequence", "u")
        self.created = h.get(b"created", "t")[0]
        self.expires = h.expires()
        count = parse_int(h.values[b"files"])
        if count is None or count < 0:
            raise FormatError("line %d: files count %s" % (h.lines[b"files"], _q(h.values[b"files"])))
        self.channel = check_name("channel", self.channel)
        self.version = check_name("version", self.version)
        if count > self.max_files:
            raise TooLargeError("%d files, limit is %d (raise max_files)" % (count, self.max_files))
        self.count = count
        self.total = 0
        self.signed = True  # every file has a SHA-256 and none a git SHA-1
        self._first = h.n

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
