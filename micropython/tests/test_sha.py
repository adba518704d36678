# Tests of ferry.sha512 and ferry.sha1 (the pure-Python fallbacks) against the
# FIPS 180 examples and, when a folder is given as argv[1], against vectors
# written by the Go standard library (sha.txt: "HEXMSG SHA1 SHA512" a line).
import sys
import binascii
from ferry import sha512, sha1


def hx(b):
    return binascii.hexlify(b).decode()


def check(name, got, want):
    if got != want:
        raise AssertionError("%s: got %s want %s" % (name, got, want))


M1 = b"abc"
M2 = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
M3 = (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
      b"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
SHA512_WANT = {
    b"": "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    M1: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    M2: "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445",
    M3: "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
}
SHA1_WANT = {
    b"": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    M1: "a9993e364706816aba3e25717850c26c9cd0d89d",
    M2: "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    M3: "a49b2446a02c645bf419f995b67091253a04a259",
}


def test_fips():
    for m, want in SHA512_WANT.items():
        check("sha512 %r" % m[:8], hx(sha512.SHA512(m).digest()), want)
    for m, want in SHA1_WANT.items():
        check("sha1 %r" % m[:8], hx(sha1.SHA1(m).digest()), want)


def test_million_a():
    h5, h1 = sha512.SHA512(), sha1.SHA1()
    chunk = b"a" * 1000
    for _ in range(1000):
        h5.update(chunk)
        h1.update(chunk)
    check("sha512 1M a", hx(h5.digest()),
          "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")
    check("sha1 1M a", hx(h1.digest()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")


def test_split_updates():
    # Every split of a 300-byte message into two updates gives the same sum,
    # and digest() does not end the hash.
    msg = bytes(range(256)) + b"x" * 44
    w5 = sha512.SHA512(msg).digest()
    w1 = sha1.SHA1(msg).digest()
    for cut in (0, 1, 63, 64, 65, 111, 112, 127, 128, 129, 255, 256, 299, 300):
        h5 = sha512.SHA512()
        h5.update(msg[:cut])
        h5.digest()
        h5.update(memoryview(msg)[cut:])
        check("sha512 split %d" % cut, h5.digest(), w5)
        h1 = sha1.SHA1(msg[:cut])
        h1.update(msg[cut:])
        check("sha1 split %d" % cut, h1.digest(), w1)


def test_new():
    # new() gives a working hash whichever implementation it picks.
    check("sha512.new", hx(sha512.new(M1).digest()), SHA512_WANT[M1])
    check("sha1.new", hx(sha1.new(M1).digest()), SHA1_WANT[M1])
    h = sha1.new()
    h.update(b"blob 0\x00")
    check("git empty blob", hx(h.digest()), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")


def test_go_vectors(folder):
    n = 0
    with open(folder + "/sha.txt") as f:
        for line in f:
            m, w1, w5 = line.split()
            m = binascii.unhexlify(m) if m != "-" else b""
            check("go sha1 len %d" % len(m), hx(sha1.SHA1(m).digest()), w1)
            check("go sha512 len %d" % len(m), hx(sha512.SHA512(m).digest()), w5)
            n += 1
    if n < 10:
        raise AssertionError("only %d Go vectors" % n)
    print("go vectors:", n)


test_fips()
test_split_updates()
test_new()
if "--long" in sys.argv:
    # 1 MB of pure-Python hashing: slow here, where garbage is collected
    # only when the program ends.
    test_million_a()
if len(sys.argv) > 1 and sys.argv[1] != "--long":
    test_go_vectors(sys.argv[1])
print("ok test_sha")
