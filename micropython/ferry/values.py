# ferry/values.py: the parsers of the values in a manifest's or a
# pointer's lines (Go's strconv.ParseUint/ParseInt, hex.Decode), and the
# short printable form of untrusted bytes for messages. header.py (the
# header of a manifest or pointer) and manifest.py (its file lines) share
# them, so that reading a manifest's file lines needs no header parser.


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
