# SHA-1 in pure Python, for ports whose hashlib lacks it: the GitHub
# developer channel checks each file's git blob SHA-1. Use new(): it returns
# hashlib's when the port has one. Same interface as hashlib.
try:
    import hashlib as _hl
except ImportError:  # pragma: no cover
    _hl = None

from ferry.mdhash import MD

_M = 0xFFFFFFFF


def _compress(h, b, w):
    for i in range(16):
        w[i] = int.from_bytes(b[4 * i:4 * i + 4], "big")
    for i in range(16, 80):
        x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
        w[i] = ((x << 1) | (x >> 31)) & _M
    a, b_, c, d, e = h
    M = _M
    for i in range(80):
        if i < 20:
            f = (b_ & c) | (~b_ & d)
            k = 0x5A827999
        elif i < 40:
            f = b_ ^ c ^ d
            k = 0x6ED9EBA1
        elif i < 60:
            f = (b_ & c) | (b_ & d) | (c & d)
            k = 0x8F1BBCDC
        else:
            f = b_ ^ c ^ d
            k = 0xCA62C1D6
        t = ((((a << 5) | (a >> 27)) & M) + (f & M) + e + k + w[i]) & M
        e = d
        d = c
        c = ((b_ << 30) | (b_ >> 2)) & M
        b_ = a
        a = t
    h[0] = (h[0] + a) & M
    h[1] = (h[1] + b_) & M
    h[2] = (h[2] + c) & M
    h[3] = (h[3] + d) & M
    h[4] = (h[4] + e) & M


class SHA1(MD):
    # Pure-Python SHA-1: update(data), digest().

    digest_size = 20
    block_size = 64
    WORD = 4
    LEN = 8
    compress = staticmethod(_compress)

    def __init__(self, data=None):
        MD.__init__(self, (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0), data)


def new(data=None):
    """A SHA-1 hash object: hashlib's when the port has it, else SHA1."""
    if _hl is not None and hasattr(_hl, "sha1"):
        return _hl.sha1(data) if data else _hl.sha1()
    return SHA1(data)
