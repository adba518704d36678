# Tests of ferry.note: signed notes as golang.org/x/mod/sumdb/note opens
# them, in memory and streamed from a file; every refusal; a seeded mutation
# loop; and, with a folder as argv[1], Go's verdicts on notes that
# internal/mpyvec signed with internal/trust (notes.txt: "N THRESHOLD
# VERDICT"; the format-1 key-list rules apply to accepted notes).
import sys
import io
import random
import hashlib
from ferry import note, trust
from notekit import Signer, sign_note, mutate, expect_error, code_of

A = Signer(b"alice", b"\x01" * 32)
B = Signer(b"bob", b"\x02" * 32)
C = Signer(b"carol", b"\x03" * 32)
A2 = Signer(b"alice", b"\x04" * 32)  # alice's name, another key
TEXT = b"ferry-channel 1\nchannel stable\n"


def keys(*ss):
    return note.Keys([note.parse_key(s.vkey) for s in ss])


def both(msg, ks, threshold=1):
    # Open msg in memory and from a file; the verdicts must agree.
    c1 = code_of(note.open_note, msg, ks, threshold)
    c2 = code_of(note.open_file, io.BytesIO(msg), ks, threshold, None, bytearray(16))
    if c1 != c2:
        raise AssertionError("in memory %s, from a file %s: %r" % (c1, c2, msg[:80]))
    return c1


def want(name, got, code):
    if got != code:
        raise AssertionError("%s: got %s, want %s" % (name, got, code))


def test_accept():
    m = sign_note(TEXT, A, C, B)
    text, signers = note.open_note(m, keys(A, B), 2)
    want("text", text, TEXT)
    want("signers", sorted(k.name for k in signers), [b"alice", b"bob"])
    n, signers, sha = note.open_file(io.BytesIO(m), keys(A, B), 2, None, bytearray(7))
    want("text size", n, len(TEXT))
    want("sha256", sha, hashlib.sha256(m).digest())
    want("file_text_size", note.file_text_size(io.BytesIO(m), bytearray(5)), len(TEXT))
    expect_error(note.FormatError, note.file_text_size, io.BytesIO(TEXT))
    expect_error(note.FormatError, note.open_file, io.BytesIO(m), keys(A), 1, None, None, b"x" * 32)
    fed = [0]

    def feed():
        fed[0] += 1
    note.open_file(io.BytesIO(m), keys(A), 1, feed)
    if fed[0] < 3:
        raise AssertionError("feed not called")
    # A large note held in memory is checked and hashed in steps too.
    big = TEXT + b"x" * 4000 + b"\n"
    fed[0] = 0
    note.open_note(sign_note(big, A), keys(A), 1, feed)
    if fed[0] < 16:
        raise AssertionError("feed called %d times for a 4 KB note" % fed[0])


def test_refusals():
    ks = keys(A, B)
    good = sign_note(TEXT, A)
    line = A.sig_line(TEXT)
    cases = [
        ("threshold 2, one key", sign_note(TEXT, A), 2, "untrusted"),
        ("same key twice counts once", sign_note(TEXT, A, A), 2, "untrusted"),
        ("unknown key only", sign_note(TEXT, C), 1, "untrusted"),
        ("known name, other key", sign_note(TEXT, A2), 1, "untrusted"),
        ("altered text", good.replace(b"stable", b"stabla"), 1, "bad-signature"),
        ("known key bad, other good", sign_note(TEXT, B) + line[:-6] + b"AAAA=\n", 1, "bad-signature"),
        ("bad signature by a second key", good + B.sig_line(b"other\n"), 1, "bad-signature"),
        ("no blank line", TEXT + line, 1, "format"),
        ("no final newline", good[:-1], 1, "format"),
        ("empty signature block", TEXT + b"\n", 1, "format"),
        ("control character", good.replace(b"stable", b"sta\tble"), 1, "format"),
        ("invalid UTF-8", good.replace(b"stable", b"st\xffble"), 1, "format"),
        ("surrogate", good.replace(b"stable", b"st\xed\xa0\x80e"), 1, "format"),
        ("overlong", good.replace(b"stable", b"st\xc0\xafe"), 1, "format"),
        ("hyphen, not em dash", good.replace(b"\xe2\x80\x94", b"-"), 1, "format"),
        ("base64 unpadded", good.replace(b"=\n", b"\n"), 1, "format"),
        ("base64 bad char", good.replace(b"alice ", b"alice !"), 1, "format"),
        ("name with +", good.replace(b"alice ", b"al+ce "), 1, "format"),
        ("name with NBSP", good.replace(b"alice ", b"al\xc2\xa0ce "), 1, "format"),
        ("name with EM SPACE", good.replace(b"alice ", b"al\xe2\x80\x83ce "), 1, "format"),
        ("name with U+200B (not a space)", good.replace(b"alice ", b"al\xe2\x80\x8bce "), 1, "untrusted"),
        ("no signature bytes", TEXT + b"\n\xe2\x80\x94 alice AAAAAA==\n", 1, "format"),
        ("101 signatures", TEXT + b"\n" + line * 101, 1, "format"),
        ("100 signatures", TEXT + b"\n" + line * 100, 1, "ok"),
        ("blank line in block", good + b"\n", 1, "format"),
        ("short signature by a known key", TEXT + b"\n\xe2\x80\x94 alice " + line.split(b" ")[2][:12] + b"\n", 1, "bad-signature"),
    ]
    for name, msg, t, code in cases:
        want(name, both(msg, ks, t), code)
    # A signature of length != 64 by a known key is an invalid signature.
    import binascii
    short = binascii.b2a_base64(A.hash.to_bytes(4, "big") + b"x" * 10).strip()
    want("10-byte signature", both(TEXT + b"\n\xe2\x80\x94 alice " + short + b"\n", ks), "bad-signature")
    # Two keys with one name and hash: ambiguous, refused as Go's Open does.
    amb = note.Keys([note.parse_key(A.vkey), note.parse_key(A.vkey)])
    want("ambiguous", both(good, amb), "format")
    want("ambiguous but not used", both(sign_note(TEXT, B), note.Keys([note.parse_key(A.vkey), note.parse_key(A.vkey), note.parse_key(B.vkey)])), "ok")


def test_keys():
    k = note.parse_key(A.vkey)
    want("name", k.name, b"alice")
    name, h, b64 = A.vkey.split(b"+", 2)
    bad = [
        name + b"+" + b"%08x" % (A.hash ^ 1) + b"+" + b64,  # hash mismatch
        name + b"+" + h[:7] + b"+" + b64,  # short hash
        b"+" + h + b"+" + b64,  # no name
        name + b"+" + h + b"+" + b64[:-4],  # short key
        name + b"+" + h + b"+",
        name + b"+" + h.upper()[:-1] + b"g+" + b64,
        b"al ice+" + h + b"+" + b64,
    ]
    for v in bad:
        expect_error(note.FormatError, note.parse_key, v)
    want("upper-case hash", note.parse_key(name + b"+" + h.upper() + b"+" + b64).hash, A.hash)
    import binascii
    k2 = b"\x02" + A.pub
    v2 = b"alice+%08x+%s" % (note.key_hash(b"alice", k2), binascii.b2a_base64(k2).strip())
    e = expect_error(note.FormatError, note.parse_key, v2)
    if "algorithm" not in e.args[0]:
        raise AssertionError(e.args[0])
    for s, ok in ((b"QQ==", b"A"), (b"QUI=", b"AB"), (b"QUJD", b"ABC"), (b"QR==", b"A"), (b"", b""),
                  (b"QU\rJD", b"ABC"), (b"QQ=\r=", b"A"), (b"\nQQ==\r\n", b"A"), (b"Q\nQ==", b"A")):
        want("b64 " + s.decode(), note.b64decode(s), ok)
    for s in (b"QQ", b"Q===", b"====", b"QQ=A", b"Q\nQ=", b"QQ==QQ=="):
        want("b64 bad " + repr(s), note.b64decode(s), None)


def test_mutations():
    # Seeded random mutations: never accepted unless the signed text is
    # unchanged, and never any error but the module's own.
    rng = random.Random(14) if hasattr(random, "Random") else random
    if rng is random:
        random.seed(14)
    ks = keys(A, B)
    base = sign_note(TEXT, A, C, B)
    accepted = 0
    for i in range(120):
        m = base
        for _ in range(1 + rng.getrandbits(1)):
            m = mutate(rng, m)
        try:
            text, _ = note.open_note(m, ks, 1 + i % 2)
        except note.NoteError:
            continue
        if text != TEXT:
            raise AssertionError("mutation accepted with a changed text: %r" % m)
        accepted += 1
    print("mutations: 120, accepted with the text unchanged:", accepted)
    # Verifier keys: only FormatError, and a mutated key is never A's.
    for i in range(300):
        v = A.vkey
        for _ in range(1 + rng.getrandbits(1)):
            v = mutate(rng, v)
        try:
            k = note.parse_key(v)
        except note.FormatError:
            continue
        if (k.name, k.hash, k.pub) != (b"alice", A.hash, A.pub) and k.pub == A.pub:
            raise AssertionError("mutated key %r accepted as A's key under another name" % v)


def test_go(folder):
    roots = trust.parse_verifiers(open(folder + "/roots.pub", "rb").read())
    now = int(open(folder + "/now.txt").read())
    n = 0
    seen = {}
    for line in open(folder + "/notes.txt"):
        num, threshold, verdict = line.split()
        msg = open("%s/notes/%s" % (folder, num), "rb").read()

        def check(msg=msg, threshold=int(threshold)):
            text, _ = note.open_note(msg, roots, threshold)
            trust.parse_key_list(text, now)

        def check_file(msg=msg, threshold=int(threshold)):
            size, _, _ = note.open_file(io.BytesIO(msg), roots, threshold)
            trust.parse_key_list(msg[:size], now)
        want("go note %s (%r)" % (num, msg[:60]), code_of(check), verdict)
        want("go note %s from a file" % num, code_of(check_file), verdict)
        n += 1
        seen[verdict] = seen.get(verdict, 0) + 1
    print("go notes:", n, sorted(seen.items()))
    if len(seen) < 5:
        raise AssertionError("go notes cover only %r" % seen)


test_accept()
test_refusals()
test_keys()
test_mutations()
if len(sys.argv) > 1:
    test_go(sys.argv[1])
print("ok test_note")
