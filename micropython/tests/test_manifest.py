# Tests of ferry.manifest: manifests streamed from a file with a fixed
# buffer, every rule of Go's ParseManifest and ValidPath, a seeded mutation
# loop, and, with a folder as argv[1], Go's verdicts (man.txt: "N VERDICT
# [SUMMARY]") on manifests internal/mpyvec made and mutated; limits as its
# `limits`.
import sys
import io
import random
import hashlib
import binascii
from ferry import manifest as mf
from notekit import mutate, expect_error, code_of

HDR = (b"ferry-manifest 1\nchannel stable\nversion 1.0\nsequence 3\n"
       b"created 2026-01-01T00:00:00Z\nexpires 2027-01-01T00:00:00Z\n")
D = b"ab" * 32
LIMITS = (250, 1 << 20, 4 << 20)  # as internal/mpyvec


def fl(path, size=1, mode=b"0644", kind=b"f", dig=D):
    return b"%s %s %d 1 %s %s\n" % (kind, mode, size, dig, path)


def doc(*lines, count=None):
    return HDR + b"files %d\n" % (len(lines) if count is None else count) + b"".join(lines)


def read(data, limits=LIMITS, buf=None):
    # Parse data as a manifest file; returns (Manifest, entries).
    m = mf.Manifest(io.BytesIO(data), len(data), *limits, buf=buf)
    return m, list(m.files())


def code(data, limits=LIMITS):
    return code_of(read, data, limits)


def want(name, got, w):
    if got != w:
        raise AssertionError("%s: got %r, want %r" % (name, got, w))


def summary(m, entries):
    h = hashlib.sha256()
    for kind, mode, size, zsize, dig, path in entries:
        h.update(b"%s %o %d %d %s %s\n" % (kind, mode, size, zsize, binascii.hexlify(dig), path.encode()))
    return "%s %s %d %d %d %d %d %s" % (m.channel, m.version, m.sequence, m.created, m.expires,
                                         len(entries), m.total, binascii.hexlify(h.digest()).decode())


def test_accept():
    m, es = read(doc(fl(b"a/b.py", 10), fl(b"a/c", 5, b"0755"), fl(b"z\xc3\xa9", 0)))
    want("header", (m.channel, m.version, m.sequence, m.created, m.expires), ("stable", "1.0", 3, 1767225600, 1798761600))
    want("entries", [(e[1], e[2], e[5]) for e in es], [(0o644, 10, "a/b.py"), (0o755, 5, "a/c"), (0o644, 0, "z\u00e9")])
    want("digest", es[0][4], bytes.fromhex("ab" * 32) if hasattr(bytes, "fromhex") else binascii.unhexlify(D))
    want("total", m.total, 15)
    want("signed", m.signed, True)
    m, es = read(doc(fl(b"x", kind=b"g", dig=b"12" * 20)))
    want("git line", (es[0][0], m.signed), (b"g", False))
    # A tiny buffer still reads lines up to its size.
    read(doc(fl(b"a" * 100)), buf=bytearray(200))
    want("line longer than the buffer", code(doc(fl(b"a" * 100)), LIMITS) if False else code_of(read, doc(fl(b"a" * 300)), LIMITS, bytearray(200)), "too-large")


def test_refusals():
    cases = [
        ("dir/file conflict", doc(fl(b"a"), fl(b"a/b")), "path"),
        ("dir/file conflict past a!", doc(fl(b"a"), fl(b"a!"), fl(b"a/b")), "path"),
        ("deep conflict", doc(fl(b"x/a"), fl(b"x/a-b"), fl(b"x/a.c/d"), fl(b"x/a/e")), "path"),
        ("no conflict", doc(fl(b"a!"), fl(b"a-"), fl(b"ab/c"), fl(b"b")), "ok"),
        ("out of order", doc(fl(b"b"), fl(b"a")), "format"),
        ("repeated", doc(fl(b"a"), fl(b"a")), "format"),
        ("count too high", doc(fl(b"a"), count=2), "format"),
        ("count too low", doc(fl(b"a"), fl(b"b"), count=1), "format"),
        ("too many files", doc(count=251), "too-large"),
        ("file too large", doc(fl(b"a", 1 << 20 + 1)), "too-large"),
        ("release too large", doc(*[fl(b"f%d" % i, 1 << 20) for i in range(5)]), "too-large"),
        ("signs and zeros", doc(b"f 0644 +1 -0 " + D.upper() + b" x\n"), "ok"),
        ("mode not octal", doc(fl(b"a", mode=b"0648")), "format"),
        ("mode too big", doc(fl(b"a", mode=b"1644")), "format"),
        ("mode signed", doc(fl(b"a", mode=b"+644")), "format"),
        ("negative size", doc(fl(b"a", -1)), "format"),
        ("short digest", doc(fl(b"a", dig=D[:62])), "format"),
        ("git zero", doc(fl(b"a", kind=b"g", dig=b"0" * 40)), "format"),
        ("kind h", doc(fl(b"a", kind=b"h")), "format"),
        ("two spaces", doc(b"f 0644  1 1 " + D + b" a\n"), "format"),
        ("path with space", doc(fl(b"a b")), "ok"),
        ("absolute", doc(fl(b"/a")), "path"),
        ("backslash", doc(fl(b"a\\b")), "path"),
        ("drive", doc(fl(b"c:b")), "path"),
        ("trailing slash", doc(fl(b"a/")), "path"),
        ("empty component", doc(fl(b"a//b")), "path"),
        ("dot", doc(fl(b"a/./b")), "path"),
        ("dotdot", doc(fl(b"../b")), "path"),
        (".ferry", doc(fl(b"x/.FERRY-state")), "path"),
        (".ferr is fine", doc(fl(b".ferr")), "ok"),
        ("control", doc(fl(b"a\x7fb")), "path"),
        ("C1 control", doc(fl(b"a\xc2\x85b")), "path"),
        ("invalid UTF-8", doc(fl(b"a\xffb")), "path"),
        ("surrogate", doc(fl(b"a\xed\xa0\x80")), "path"),
        ("1024-byte path", doc(fl(b"p" * 1024)), "ok"),
        ("1025-byte path", doc(fl(b"p" * 1025)), "path"),
        ("empty line", doc(fl(b"a")) + b"\n", "format"),
        ("no final newline", doc(fl(b"a"))[:-1], "format"),
        ("version 2", doc().replace(b"ferry-manifest 1", b"ferry-manifest 2"), "version"),
        ("not a manifest", doc().replace(b"ferry-manifest 1", b"ferry-channel 1"), "format"),
        ("repeated key", HDR + b"version 2\nfiles 0\n", "format"),
        ("unknown key", HDR + b"colour blue\nfiles 0\n", "ok"),
        ("no files line", HDR, "format"),
        ("no sequence", doc().replace(b"sequence 3\n", b""), "format"),
        ("sequence 2^64", doc().replace(b"sequence 3", b"sequence 18446744073709551616"), "format"),
        ("sequence 2^64-1", doc().replace(b"sequence 3", b"sequence 18446744073709551615"), "ok"),
        ("zero expires", doc().replace(b"2027-01-01T00:00:00Z", b"0001-01-01T00:00:00Z"), "format"),
        ("Feb 29 2027", doc().replace(b"2027-01-01T00:00:00Z", b"2027-02-29T00:00:00Z"), "format"),
        ("Feb 29 2028", doc().replace(b"2027-01-01T00:00:00Z", b"2028-02-29T00:00:00Z"), "ok"),
        ("offset and fraction", doc().replace(b"2027-01-01T00:00:00Z", b"2027-01-01T10:00:00.5-05:30"), "ok"),
        ("lower-case t", doc().replace(b"2027-01-01T00:00:00Z", b"2027-01-01t00:00:00Z"), "format"),
        ("hour 24", doc().replace(b"2027-01-01T00:00:00Z", b"2027-01-01T24:00:00Z"), "format"),
        ("channel with slash", doc().replace(b"channel stable", b"channel st/able"), "format"),
        ("empty version", doc().replace(b"version 1.0", b"version "), "format"),
        ("version 129 bytes", doc().replace(b"version 1.0", b"version " + b"v" * 129), "format"),
    ]
    for name, data, w in cases:
        want(name, code(data), w)
    e = expect_error(mf.PathError, read, doc(fl(b"a"), fl(b"a/b")))
    if "folder" not in e.args[0]:
        raise AssertionError(e.args[0])
    m, es = read(doc().replace(b"2027-01-01T00:00:00Z", b"2027-01-01T10:00:00.5-05:30"))
    want("offset", m.expires, 1798761600 + 10 * 3600 + 5 * 3600 + 1800)


def test_mutations():
    if hasattr(random, "Random"):
        rng = random.Random(7)
    else:
        random.seed(7)
        rng = random
    base = doc(*[fl(b"d%d/f%d.py" % (i % 3, i), i) for i in range(12)])
    for _ in range(300):
        m = base
        for _ in range(1 + rng.getrandbits(1)):
            m = mutate(rng, m)
        code(m)  # only the module's own errors may come out


def test_go(folder):
    n = 0
    seen = {}
    for line in open(folder + "/man.txt"):
        num, verdict, summ = (line.rstrip("\n") + " ").split(" ", 2)
        data = open("%s/man/%s" % (folder, num), "rb").read()
        try:
            m, es = read(data)
            got = "ok"
        except mf.ManifestError as e:
            got = e.code
        want("go manifest %s (%r)" % (num, data[:200]), got, verdict)
        if got == "ok":
            want("go manifest %s summary" % num, summary(m, es), summ.strip())
        seen[verdict] = seen.get(verdict, 0) + 1
        n += 1
    print("go manifests:", n, sorted(seen.items()))
    if len(seen) < 5:
        raise AssertionError("go manifests cover only %r" % seen)


test_accept()
test_refusals()
test_mutations()
if len(sys.argv) > 1:
    test_go(sys.argv[1])
print("ok test_manifest")
