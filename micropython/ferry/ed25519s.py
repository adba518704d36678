# Ed25519 signing (RFC 8032) in pure Python, on ed25519.py's field and point
# code: what a board needs to sign its fleet reports with its own key
# (ferry/fleet.py). The key is the 32-byte seed; public(seed) -> 32 bytes,
# sign(seed, msg, pub=None, feed=None) -> 64 bytes. feed() (the watchdog) is
# called between the steps of the scalar multiplications.
#
# The scalar multiplication is variable-time (ed25519.py's wNAF ladder): a
# board signs a few reports a day, each with a secret the service never
# sees, and big-int Python cannot be made constant-time anyway. The key
# only signs reports; a leak lets someone report in the device's name, not
# install anything (releases are verified with the publisher's keys).
from ferry import ed25519 as _e
from ferry import sha512

_B = (_e._BX, _e._BY, 1, _e._BX * _e._BY % _e.P)


def _base_mul(s, feed):
    # [s]B through the verifier's double-scalar code ([0]B + [s]B).
    return _e._double_scalar(0, _B, s, feed)


def _expand(seed):
    if len(seed) != 32:
        raise ValueError("ed25519: a seed is 32 bytes, not %d" % len(seed))
    h = sha512.new(bytes(seed)).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def public(seed, feed=None):
    """The public key (32 bytes) of a 32-byte seed."""
    a, _ = _expand(seed)
    return _e._encode(_base_mul(a, feed))


def sign(seed, msg, pub=None, feed=None):
    """The Ed25519 signature (64 bytes) of msg (bytes) by seed; pub, when
    given, is seed's public key (saves one scalar multiplication)."""
    a, prefix = _expand(seed)
    if pub is None:
        pub = _e._encode(_base_mul(a, feed))
    h = sha512.new(prefix)
    h.update(msg)
    r = int.from_bytes(h.digest(), "little") % _e.L
    R = _e._encode(_base_mul(r, feed))
    h = sha512.new(R)
    h.update(pub)
    h.update(msg)
    k = int.from_bytes(h.digest(), "little") % _e.L
    s = (r + k * a) % _e.L
    return R + s.to_bytes(32, "little")
