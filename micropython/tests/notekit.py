# Test helpers for the note, trust and manifest tests: Ed25519 signing (the
# board only verifies; tests need to sign), verifier keys, signed notes, and
# seeded mutations of documents.
import binascii
import hashlib
import random
from ferry import ed25519, sha512, note

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64encode(b):
    return binascii.b2a_base64(b).strip()


def _scalar_base(s):
    return ed25519._double_scalar(0, (0, 1, 1, 0), s, None)


class Signer:
    """An Ed25519 key from a seed, named as a note signer."""

    def __init__(self, name, seed):
        self.name = name
        h = sha512.new(seed).digest()
        a = int.from_bytes(h[:32], "little")
        a &= (1 << 254) - 8
        a |= 1 << 254
        self.a, self.prefix = a, h[32:]
        self.pub = ed25519._encode(_scalar_base(a))
        self.hash = note.key_hash(name, b"\x01" + self.pub)
        self.vkey = b"%s+%08x+%s" % (name, self.hash, b64encode(b"\x01" + self.pub))

    def sign(self, msg):
        r = int.from_bytes(sha512.new(self.prefix + msg).digest(), "little") % ed25519.L
        R = ed25519._encode(_scalar_base(r))
        k = int.from_bytes(sha512.new(R + self.pub + msg).digest(), "little") % ed25519.L
        return R + ((r + k * self.a) % ed25519.L).to_bytes(32, "little")

    def sig_line(self, text):
        return b"\xe2\x80\x94 %s %s\n" % (self.name, b64encode(self.hash.to_bytes(4, "big") + self.sign(text)))


def sign_note(text, *signers):
    return text + b"\n" + b"".join(s.sig_line(text) for s in signers)


_INTERESTING = b" \n\t\r/\\.0f9+-=:Z\x00\x7f\xc2\x80\xe2\xed\xff"


def mutate(rng, b):
    """b changed in one random way (as internal/mpyvec's mutate)."""
    if not b:
        return b"\n"
    lines = b.split(b"\n")
    op = rng.getrandbits(8) % 7
    pick = bytes([_INTERESTING[rng.getrandbits(8) % len(_INTERESTING)]])
    i = rng.getrandbits(16) % len(b)
    if op == 0:
        return b[:i] + pick + b[i + 1:]
    if op == 1:
        return b[:i] + b[i + 1:]
    if op == 2:
        return b[:i] + pick + b[i:]
    j = rng.getrandbits(16) % len(lines)
    if op == 3:
        return b"\n".join(lines[:j] + lines[j + 1:])
    if op == 4:
        return b"\n".join(lines[:j + 1] + lines[j:])
    if op == 5 and j + 1 < len(lines):
        lines[j], lines[j + 1] = lines[j + 1], lines[j]
        return b"\n".join(lines)
    return b[:i]


def expect_error(cls, fn, *args):
    """Call fn(*args); it must raise cls (or a subclass). Returns it."""
    try:
        fn(*args)
    except cls as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), cls.__name__))


def code_of(fn, *args):
    """The .code of the module error fn raises, or "ok"."""
    try:
        fn(*args)
    except Exception as e:
        if not hasattr(e, "code"):
            raise
        return e.code
    return "ok"
