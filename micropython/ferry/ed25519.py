# Ed25519 signature verification (RFC 8032) in pure Python with big ints,
# accepting and refusing exactly what Go's crypto/ed25519.Verify does:
# cofactorless ([S]B - [k]A must encode to R byte for byte), S must be
# canonical (< L) and its top three bits clear, A must decode to a curve
# point (non-canonical y >= p and "-0" are accepted, as Go accepts them), and
# R is never decoded, only compared. Verification is variable-time: only
# public data is handled.
#
# verify(pub, sig, msg, feed=None) -> bool; msg is bytes or a stream with
# readinto (a file): it is hashed in chunks, never held whole. Or stream by
# hand: v = Verifier(pub, sig); v.update(chunk)...; v.verify(feed).
# feed() is called between the steps of the point arithmetic (each well under
# a second on a board), so that a watchdog can be fed.
from ferry import sha512

P = (1 << 255) - 19
L = (1 << 252) + 27742317777372353535851937790883648493
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_D2 = (2 * _D) % P
_SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960
_W = 5  # wNAF window: 2^(W-2) = 8 precomputed odd multiples per point
_CHUNK = 256  # bytes read from a stream at a time
_FEED_EVERY = 32  # doublings between calls of feed()


def _powmod(b, e, m):
    # pow(b, e, m) for ports built without three-argument pow.
    r = 1
    b %= m
    while e:
        if e & 1:
            r = r * b % m
        b = b * b % m
        e >>= 1
    return r


try:
    _pow = pow if pow(3, 5, 7) == 5 else _powmod
except (TypeError, NotImplementedError):
    _pow = _powmod


def _decode(b):
    # Decode a 32-byte point encoding as Go's edwards25519 Point.SetBytes:
    # y is taken mod p (top bit is x's sign); one exponentiation for the
    # square root. Returns extended (X, Y, Z, T) or None.
    s = int.from_bytes(b, "little")
    sign = s >> 255
    y = (s & ((1 << 255) - 1)) % P
    y2 = y * y % P
    u = (y2 - 1) % P
    v = (_D * y2 + 1) % P
    v3 = v * v % P * v % P
    x = u * v3 % P * _pow(u * v3 % P * v3 % P * v % P, (P - 5) // 8, P) % P
    vx2 = v * x % P * x % P
    if vx2 == u:
        pass
    elif vx2 == (P - u) % P:
        x = x * _SQRT_M1 % P
    else:
        return None
    if x & 1:
        x = P - x
    if sign:
        x = (P - x) % P
    return (x, y, 1, x * y % P)


def _cached(p):
    # (Y-X, Y+X, 2d*T, 2*Z): the second operand of _add.
    X, Y, Z, T = p
    return ((Y - X) % P, (Y + X) % P, _D2 * T % P, 2 * Z % P)


def _add(p, q):
    # Extended + cached -> extended (add-2008-hwcd-3, complete for a = -1).
    X1, Y1, Z1, T1 = p
    ym, yp, t2d, z2 = q
    a = (Y1 - X1) * ym % P
    b = (Y1 + X1) * yp % P
    c = T1 * t2d % P
    d = Z1 * z2 % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _dbl(p):
    # dbl-2008-hwcd for a = -1.
    X1, Y1, Z1, _ = p
    a = X1 * X1 % P
    b = Y1 * Y1 % P
    c = 2 * Z1 * Z1 % P
    h = a + b
    s = X1 + Y1
    e = h - s * s % P
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _neg(p):
    X, Y, Z, T = p
    return ((P - X) % P, Y, Z, (P - T) % P)


def _table(p):
    # Cached odd multiples p, 3p, ..., (2^(W-1)-1)p.
    p2 = _cached(_dbl(p))
    t = [_cached(p)]
    q = p
    for _ in range((1 << (_W - 2)) - 1):
        q = _add(q, p2)
        t.append(_cached(q))
    return t


def _wnaf(k):
    # Width-W non-adjacent form of k, least significant digit first.
    out = bytearray()  # digits as signed bytes (two's complement)
    full = 1 << _W
    half = 1 << (_W - 1)
    while k:
        if k & 1:
            d = k & (full - 1)
            if d >= half:
                d -= full
            k -= d
            out.append(d & 0xFF)
        else:
            out.append(0)
        k >>= 1
    return out


def _digit(n, i):
    if i >= len(n):
        return 0
    d = n[i]
    return d - 256 if d >= 128 else d


def _encode(p):
    X, Y, Z, _ = p
    zi = _pow(Z, P - 2, P)
    x = X * zi % P
    y = Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _double_scalar(k, a, s, feed):
    # [k]a + [s]B, calling feed() between steps.
    g = _double_scalar_steps(k, a, s)
    while True:
        try:
            next(g)
        except StopIteration as e:
            return e.value
        if feed:
            feed()


def _double_scalar_steps(k, a, s):
    # [k]a + [s]B, variable time, sharing the doublings (Straus + wNAF); a
    # generator that yields between steps and returns the point. The odd
    # multiples of B are made for each check (eight point additions, a
    # fraction of a millisecond), not kept by the module: 32 big ints held
    # between checks were 3.9 KB of heap for as long as ed25519.py is loaded.
    tb = _table((_BX, _BY, 1, _BX * _BY % P))
    ta = _table(a)
    yield
    na, ns = _wnaf(k), _wnaf(s)
    r = (0, 1, 1, 0)
    n = 0
    for i in range(max(len(na), len(ns)) - 1, -1, -1):
        r = _dbl(r)
        da = _digit(na, i)
        if da > 0:
            r = _add(r, ta[da >> 1])
        elif da < 0:
            r = _add(r, _neg_cached(ta[(-da) >> 1]))
        ds = _digit(ns, i)
        if ds > 0:
            r = _add(r, tb[ds >> 1])
        elif ds < 0:
            r = _add(r, _neg_cached(tb[(-ds) >> 1]))
        n += 1
        if n % _FEED_EVERY == 0:
            yield
    return r


def _neg_cached(c):
    ym, yp, t2d, z2 = c
    return (yp, ym, (P - t2d) % P, z2)


class Verifier:
    # Streaming Ed25519 verification of one signature: update(chunk) with
    # the message in pieces, then verify(feed) -> bool.

    def __init__(self, pub, sig):
        self._ok = len(pub) == 32 and len(sig) == 64 and not (sig[63] & 224)
        self._pub = bytes(pub)
        self._sig = bytes(sig)
        self._h = sha512.new()
        if self._ok:
            self._h.update(self._sig[:32])
            self._h.update(self._pub)

    def update(self, data):
        if self._ok:
            self._h.update(data)

    def verify(self, feed=None):
        """Report whether the signature verifies; feed() between steps."""
        g = self.steps()
        while True:
            try:
                next(g)
            except StopIteration as e:
                return e.value
            if feed:
                feed()

    def steps(self):
        """verify() as a generator: yields between steps (each well under a
        second on a board) and returns the verdict."""
        if not self._ok:
            return False
        a = _decode(self._pub)
        if a is None:
            return False
        s = int.from_bytes(self._sig[32:], "little")
        if s >= L:
            return False
        yield
        k = int.from_bytes(self._h.digest(), "little") % L
        yield
        r = yield from _double_scalar_steps(k, _neg(a), s)
        return _encode(r) == self._sig[:32]


def verify(pub, sig, msg, feed=None):
    """Report whether sig is pub's Ed25519 signature of msg (bytes, or a
    stream read to its end in small chunks)."""
    v = Verifier(pub, sig)
    if hasattr(msg, "readinto"):
        buf = bytearray(_CHUNK)
        mv = memoryview(buf)
        while True:
            n = msg.readinto(buf)
            if not n:
                break
            v.update(mv[:n])
            if feed:
                feed()
    else:
        v.update(msg)
    return v.verify(feed)
