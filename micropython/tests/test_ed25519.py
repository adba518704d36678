# Tests of ferry.ed25519: RFC 8032 section 7.1 vectors, Go's refusals
# (S >= L, top bits of S, bad point encodings), streaming, and, when a folder
# is given as argv[1], agreement with Go's crypto/ed25519.Verify on the
# vectors in ed25519.txt ("PUB SIG MSG VERDICT" a line, hex; '-' for empty),
# valid signatures and mutations of them that Go accepted or refused.
import sys
import time
import binascii
from ferry import ed25519

uh = binascii.unhexlify

RFC = [
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]


def expect(name, got, want):
    if got != want:
        raise AssertionError("%s: verify returned %r, want %r" % (name, got, want))


class Stream:
    # A file-like object that hands out its bytes a few at a time.
    def __init__(self, data, step):
        self.data, self.pos, self.step = data, 0, step

    def readinto(self, buf):
        n = min(len(buf), self.step, len(self.data) - self.pos)
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def test_rfc():
    for i, (pub, msg, sig) in enumerate(RFC):
        pub, msg, sig = uh(pub), uh(msg), uh(sig)
        expect("rfc %d" % (i + 1), ed25519.verify(pub, sig, msg), True)
        bad = bytearray(msg + b"x")
        expect("rfc %d other msg" % (i + 1), ed25519.verify(pub, sig, bytes(bad)), False)
        for j in (0, 31, 32, 62):
            s = bytearray(sig)
            s[j] ^= 1
            expect("rfc %d sig byte %d flipped" % (i + 1, j), ed25519.verify(pub, bytes(s), msg), False)


def test_refusals():
    pub, msg, sig = [uh(x) for x in RFC[1]]
    s = int.from_bytes(sig[32:], "little")
    # S + L is the same scalar mod L: Go refuses it as non-canonical.
    big = sig[:32] + (s + ed25519.L).to_bytes(32, "little")
    expect("S+L", ed25519.verify(pub, big, msg), False)
    top = bytearray(sig)
    top[63] |= 0x80
    expect("top bit of S", ed25519.verify(pub, bytes(top), msg), False)
    expect("short sig", ed25519.verify(pub, sig[:63], msg), False)
    expect("long sig", ed25519.verify(pub, sig + b"\0", msg), False)
    expect("short pub", ed25519.verify(pub[:31], sig, msg), False)
    # y = 2 is not on the curve (u/v is not a square).
    expect("pub off curve", ed25519.verify((2).to_bytes(32, "little"), sig, msg), False)
    # y = 1, x = 0: the identity, a valid encoding; "-0" (sign bit set) too,
    # as Go accepts both. No signature by them verifies with this S, R.
    one = (1).to_bytes(32, "little")
    negzero = bytearray(one)
    negzero[31] |= 0x80
    if ed25519._decode(one) is None or ed25519._decode(bytes(negzero)) is None:
        raise AssertionError("identity encodings refused; Go accepts them")
    # Non-canonical y = p + 1 decodes to the identity as in Go.
    nc = (ed25519.P + 1).to_bytes(32, "little")
    if ed25519._decode(nc) != ed25519._decode(one):
        raise AssertionError("y = p+1 does not decode as y = 1")
    # With A the identity, R = [S]B is a valid signature of any message
    # (cofactorless, Go accepts it): S = 1, R = B.
    bsig = ed25519._encode((ed25519._BX, ed25519._BY, 1, 0)) + (1).to_bytes(32, "little")
    expect("identity key", ed25519.verify(one, bsig, b"anything"), True)
    expect("identity key, non-canonical y", ed25519.verify(nc, bsig, b"anything"), True)
    # A non-canonical R (y + p) never matches the canonical encoding.
    r = int.from_bytes(bsig[:32], "little")
    if (r & ((1 << 255) - 1)) + ed25519.P < (1 << 255):
        expect("non-canonical R", ed25519.verify(one, (r + ed25519.P).to_bytes(32, "little") + bsig[32:], b"x"), False)


def test_powmod():
    # The fallback for ports without three-argument pow agrees with pow.
    for b, e in ((3, 5), (2, ed25519.P - 2), (123456789, (ed25519.P - 5) // 8)):
        if ed25519._powmod(b, e, ed25519.P) != pow(b, e, ed25519.P):
            raise AssertionError("_powmod(%d, ...)" % b)


def test_stream():
    pub, msg, sig = [uh(x) for x in RFC[3]]
    fed = [0]

    def feed():
        fed[0] += 1

    for step in (1, 7, 64, 1000):
        expect("stream step %d" % step, ed25519.verify(pub, sig, Stream(msg, step), feed), True)
    expect("stream altered", ed25519.verify(pub, sig, Stream(msg[:-1] + b"\0", 5)), False)
    if fed[0] < 8:
        raise AssertionError("feed called %d times" % fed[0])
    v = ed25519.Verifier(pub, sig)
    for i in range(0, len(msg), 3):
        v.update(msg[i:i + 3])
    expect("Verifier.update", v.verify(), True)


def test_go(folder):
    n = ok = 0
    with open(folder + "/ed25519.txt") as f:
        for line in f:
            pub, sig, msg, want = line.split()
            msg = b"" if msg == "-" else uh(msg)
            got = ed25519.verify(uh(pub), uh(sig), msg)
            expect("go vector %d (%s)" % (n + 1, line[:20]), got, want == "1")
            n += 1
            ok += got
    if n < 20 or ok == 0 or ok == n:
        raise AssertionError("go vectors: %d, %d valid" % (n, ok))
    print("go vectors:", n, "valid:", ok)


def bench():
    pub, msg, sig = [uh(x) for x in RFC[2]]
    ed25519.verify(pub, sig, msg)  # the B table is made on first use
    t = time.ticks_ms()
    for _ in range(3):
        ed25519.verify(pub, sig, msg)
    print("ed25519 verify: %d ms" % (time.ticks_diff(time.ticks_ms(), t) // 3))


test_rfc()
test_refusals()
test_powmod()
test_stream()
if len(sys.argv) > 1:
    test_go(sys.argv[1])
bench()
print("ok test_ed25519")
