# ferry/header.py: the key-value header of a manifest or a channel pointer
# (Go's parseHeader) and the parsers of its values: numbers, RFC 3339
# times, SHA-256 digests, channel and version names. manifest.py streams
# the file entries after it; trust.py and rollout.py need only this part
# (a pointer or a rollout document is a header).
from ferry.text import utf8_ok
from ferry.errors import ManifestError, VersionError  # noqa: F401 (the API's)
from ferry.errors import ManifestFormatError as FormatError
from ferry.values import _q, parse_digest, parse_int, parse_uint  # noqa: F401 (the API's)

_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z: Go's zero time.Time


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
