# Tests of ferry.trust: root.pub and its threshold floor, signing-key lists
# (format 1 and 2: version, roles, rollback), channel pointers, the freeze,
# rollback and mismatch checks, the manifest's pointer checks; and, with a
# folder as argv[1], Go's verdicts on pointers internal/mpyvec made and
# mutated (ptr.txt: "N VERDICT [FIELDS]").
import sys
import io
import hashlib
import binascii
from ferry import trust, note, manifest as mf
from notekit import Signer, sign_note, expect_error, code_of

R1 = Signer(b"ferry-root-1", b"\x11" * 32)
R2 = Signer(b"ferry-root-2", b"\x12" * 32)
S1 = Signer(b"ferry-signing-1", b"\x21" * 32)
F1 = Signer(b"ferry-refresh-1", b"\x22" * 32)
X1 = Signer(b"fleet-rollout", b"\x23" * 32)
NOW = 1798761600  # 2027-01-01T00:00:00Z
EXP = b"2028-11-30T00:00:00Z"
DIG = hashlib.sha256(b"m").digest()


def want(name, got, w):
    if got != w:
        raise AssertionError("%s: got %r, want %r" % (name, got, w))


def roots(threshold=1):
    return trust.parse_root(b"# threshold %d\n%s\n%s\n" % (threshold, R1.vkey, R2.vkey))[0]


def test_root():
    data = b"# Ferry root keys\n# threshold 2\n" + R1.vkey + b"\r\n  " + R2.vkey + b"\n\n"
    logs = []
    keys, t = trust.parse_root(data, 1, logs.append)
    want("threshold raised", (len(keys), t, len(logs)), (2, 2, 1))
    want("config above the floor", trust.parse_root(data, 3)[1], 3)
    want("no threshold line", trust.parse_root(R1.vkey + b"\n", 2)[1], 2)
    # Lines are trimmed of Unicode white space as Go's strings.TrimSpace.
    want("unicode spaces", len(trust.parse_root(b"\xe2\x80\x83" + R1.vkey + b"\xc2\xa0\t\n\xe3\x80\x80\n")[0]), 1)
    for bad in (b"# threshold 0\n" + R1.vkey, b"# threshold x\n" + R1.vkey, b"# only comments\n", R1.vkey + b"x\n"):
        expect_error(note.FormatError, trust.parse_root, bad)


def list2(*lines, version=b"7", expires=EXP):
    return b"ferry-signing-keys 2\nexpires %s\nversion %s\n%s" % (expires, version, b"".join(l + b"\n" for l in lines))


def test_key_list():
    text = list2(b"key " + S1.vkey, b"key " + F1.vkey + b" refresh", b"key " + X1.vkey + b" rollout:stable")
    kl = trust.parse_key_list(text, NOW)
    want("format 2", (kl.format, kl.version, [k.roles for k in kl.keys]), (2, 7, [["release"], ["refresh"], ["rollout:stable"]]))
    want("release signers", [k.name for k in kl.verifiers("release").list], [b"ferry-signing-1"])
    want("pointer signers", [k.name for k in kl.verifiers("refresh").list], [b"ferry-signing-1", b"ferry-refresh-1"])
    kl = trust.parse_key_list(list2(b"key " + S1.vkey + b" refresh,release"), NOW)
    want("two roles", kl.keys[0].roles, ["refresh", "release"])
    bad = [
        ("blank line", list2(b"key " + S1.vkey, b"")),
        ("unknown line", list2(b"key " + S1.vkey, b"comment x")),
        ("two spaces before roles", list2(b"key " + S1.vkey + b"  refresh")),
        ("empty role", list2(b"key " + S1.vkey + b" refresh,")),
        ("no keys", list2()),
        ("version 0", list2(b"key " + S1.vkey, version=b"0")),
        ("version signed", list2(b"key " + S1.vkey, version=b"+7")),
        ("version not a number", list2(b"key " + S1.vkey, version=b"seven")),
        ("order: version before expires", list2(b"key " + S1.vkey).replace(b"expires " + EXP + b"\nversion 7", b"version 7\nexpires " + EXP)),
        ("bad key", list2(b"key " + S1.vkey[:-2])),
        ("format 3", list2(b"key " + S1.vkey).replace(b"keys 2", b"keys 3")),
    ]
    for name, t in bad:
        e = expect_error(note.FormatError, trust.parse_key_list, t, NOW)
        if not e.args[0].startswith("signing-key list"):
            raise AssertionError("%s: %s" % (name, e.args[0]))
    expect_error(trust.ExpiredError, trust.parse_key_list, list2(b"key " + S1.vkey, expires=b"2026-12-31T23:59:59Z"), NOW)
    want("no clock: expiry not checked", trust.parse_key_list(list2(b"key " + S1.vkey, expires=b"2020-01-01T00:00:00Z"), None).version, 7)
    # Format 1: release keys only; TrimSpace and '#' as ParseVerifiers.
    v1 = b"ferry-signing-keys 1\nexpires %s\nkey %s\nkey  %s \nkey \nkey #x\n" % (EXP, S1.vkey, F1.vkey)
    kl = trust.parse_key_list(v1, NOW)
    want("format 1", (kl.format, kl.version, [k.roles for k in kl.keys]), (1, 0, [["release"], ["release"]]))
    expect_error(note.FormatError, trust.parse_key_list, v1 + b"other\n", NOW)


def test_open_key_list():
    text = list2(b"key " + S1.vkey)
    msg = sign_note(text, R1, R2)
    rk = roots()
    kl, sha = trust.open_key_list(msg, rk, 2, NOW)
    want("sha of text", sha, hashlib.sha256(text).digest())
    want("same again", trust.open_key_list(msg, rk, 2, NOW, 7, sha)[0].version, 7)
    want("newer", trust.open_key_list(sign_note(list2(b"key " + S1.vkey, version=b"8"), R1), rk, 1, NOW, 7, sha)[0].version, 8)
    # Re-signed by one more root: the same list.
    trust.open_key_list(sign_note(text, R2, R1), rk, 2, NOW, 7, sha)
    e = expect_error(trust.RollbackError, trust.open_key_list, msg, rk, 2, NOW, 8, b"x" * 32)
    want("rollback message", e.args[0], "signing-key list version 7 is older than 8 already trusted")
    expect_error(trust.RollbackError, trust.open_key_list, sign_note(list2(b"key " + F1.vkey), R1, R2), rk, 2, NOW, 7, sha)
    v1 = sign_note(b"ferry-signing-keys 1\nexpires %s\nkey %s\n" % (EXP, S1.vkey), R1, R2)
    want("format 1 before any format 2", trust.open_key_list(v1, rk, 2, NOW)[0].format, 1)
    expect_error(trust.RollbackError, trust.open_key_list, v1, rk, 2, NOW, 7, sha)
    expect_error(note.UntrustedError, trust.open_key_list, sign_note(text, R1), rk, 2, NOW)
    expect_error(note.UntrustedError, trust.open_key_list, sign_note(text, S1), rk, 1, NOW)
    expect_error(note.BadSignatureError, trust.open_key_list, msg.replace(b"version 7", b"version 9"), rk, 1, NOW)
    expect_error(note.FormatError, trust.open_key_list, msg + b"x" * (64 << 10), rk, 1, NOW)


def pointer(channel=b"stable", version=b"1.4.0", seq=7, expires=EXP, rollout=100):
    return b"ferry-channel 1\nchannel %s\nversion %s\nsequence %d\nmanifest %s\nmanifest-size 4242\nexpires %s\nrollout %d\n" % (
        channel, version, seq, binascii.hexlify(DIG), expires, rollout)


def test_pointer():
    kl = trust.parse_key_list(list2(b"key " + S1.vkey, b"key " + F1.vkey + b" refresh", b"key " + X1.vkey + b" rollout:stable"), NOW)
    p = trust.open_pointer(sign_note(pointer(), S1), kl, "stable", NOW)
    want("pointer", (p.channel, p.version, p.sequence, p.manifest, p.manifest_size, p.rollout), ("stable", "1.4.0", 7, DIG, 4242, 100))
    trust.open_pointer(sign_note(pointer(), F1), kl, "stable", NOW)  # refresh may sign pointers
    expect_error(note.UntrustedError, trust.open_pointer, sign_note(pointer(), X1), kl, "stable", NOW)
    e = expect_error(trust.MismatchError, trust.open_pointer, sign_note(pointer(), S1), kl, "beta", NOW)
    want("mismatch message", e.args[0], "channel pointer names channel 'stable', configured is 'beta'")
    e = expect_error(trust.ExpiredError, trust.open_pointer, sign_note(pointer(expires=b"2026-01-01T00:00:00Z"), S1), kl, "stable", NOW)
    if "2026-01-01T00:00:00Z" not in e.args[0]:
        raise AssertionError(e.args[0])
    inst = ("stable", 8, DIG, "1.5.0")
    e = expect_error(trust.RollbackError, trust.open_pointer, sign_note(pointer(), S1), kl, "stable", NOW, inst)
    want("rollback message", e.args[0], "channel pointer offers 1.4.0 (sequence 7), older than the installed 1.5.0 (sequence 8)")
    expect_error(trust.MismatchError, trust.open_pointer, sign_note(pointer(), S1), kl, "stable", NOW, ("stable", 7, b"y" * 32, "1.4.0"))
    trust.open_pointer(sign_note(pointer(), S1), kl, "stable", NOW, ("stable", 7, DIG, "1.4.0"))
    expect_error(mf.FormatError, trust.open_pointer, sign_note(pointer(rollout=101), S1), kl, "stable", NOW)
    expect_error(mf.VersionError, trust.open_pointer, sign_note(pointer().replace(b"channel 1", b"channel 2"), S1), kl, "stable", NOW)


def test_manifest_file():
    kl = trust.parse_key_list(list2(b"key " + S1.vkey, b"key " + F1.vkey + b" refresh"), NOW)
    text = b"ferry-manifest 1\nchannel stable\nversion 1.4.0\nsequence 7\ncreated 2026-11-25T12:00:00Z\nexpires 2027-11-25T12:00:00Z\nfiles 1\nf 0644 1 1 %s a.py\n" % (b"ab" * 32)
    good = sign_note(text, S1)

    def ptr(msg):
        p = trust.parse_pointer(pointer().replace(b"4242", b"%d" % len(msg)).replace(binascii.hexlify(DIG), binascii.hexlify(hashlib.sha256(msg).digest())))
        return p
    p = ptr(good)
    n = trust.open_manifest_file(io.BytesIO(good), kl, p)
    m = mf.Manifest(io.BytesIO(good), n)
    want("entries", [e[5] for e in m.files()], ["a.py"])
    trust.check_manifest(m, p, NOW)
    refresh_only = sign_note(text, F1)
    expect_error(note.UntrustedError, trust.open_manifest_file, io.BytesIO(refresh_only), kl, ptr(refresh_only))
    expect_error(trust.MismatchError, trust.open_manifest_file, io.BytesIO(good + b"\n"), kl, p)
    other = good.replace(b"a.py", b"b.py")
    expect_error(trust.MismatchError, trust.open_manifest_file, io.BytesIO(other), kl, p)
    expect_error(note.BadSignatureError, trust.open_manifest_file, io.BytesIO(other), kl, ptr(other))
    p.sequence = 8
    expect_error(trust.MismatchError, trust.check_manifest, m, p, NOW)
    p.sequence = 7
    expect_error(trust.ExpiredError, trust.check_manifest, m, p, NOW + 365 * 86400)


def test_mutations():
    # Seeded mutations of a format-2 key list and of a pointer: only the
    # modules' own errors come out, and what is accepted says what it said.
    import random
    from notekit import mutate
    if hasattr(random, "Random"):
        rng = random.Random(19)
    else:
        random.seed(19)
        rng = random
    text = list2(b"key " + S1.vkey, b"key " + F1.vkey + b" refresh")
    ptext = pointer()
    for _ in range(200):
        t = text
        for _ in range(1 + rng.getrandbits(1)):
            t = mutate(rng, t)
        try:
            kl = trust.parse_key_list(t, NOW)
        except note.NoteError:
            pass
        else:
            keys = [(k.name, k.pub) for k in kl.keys]
            if not set(keys) <= {(S1.name, S1.pub), (F1.name, F1.pub)}:
                raise AssertionError("mutated list accepted with other keys: %r" % t)
        p = ptext
        for _ in range(1 + rng.getrandbits(1)):
            p = mutate(rng, p)
        try:
            trust.parse_pointer(p)
        except mf.ManifestError:
            pass


def test_go_roots(folder):
    # roots.txt: "N ok T" or "N format": root.pub as Go's device reads it.
    n = 0
    seen = {}
    for line in open(folder + "/roots.txt"):
        f = line.split()
        data = open("%s/root/%s" % (folder, f[0]), "rb").read()
        try:
            got = ["ok", str(trust.parse_root(data, 1)[1])]
        except note.NoteError as e:
            got = [e.code]
        want("go root.pub %s (%r)" % (f[0], data), got, f[1:])
        seen[" ".join(got)] = seen.get(" ".join(got), 0) + 1
        n += 1
    print("go root.pub files:", n, sorted(seen.items()))
    if len(seen) < 3:
        raise AssertionError("go root.pub files cover only %r" % seen)


def test_go(folder):
    try:
        open(folder + "/roots.txt").close()
    except OSError:
        pass
    else:
        return test_go_roots(folder)
    n = 0
    seen = {}
    for line in open(folder + "/ptr.txt"):
        f = line.split()
        data = open("%s/ptr/%s" % (folder, f[0]), "rb").read()
        try:
            p = trust.parse_pointer(data)
            got = ["ok", p.channel, p.version, str(p.sequence), binascii.hexlify(p.manifest).decode(),
                   str(p.manifest_size), str(p.expires), str(p.rollout)]
        except mf.ManifestError as e:
            got = [e.code]
        want("go pointer %s (%r)" % (f[0], data), got, f[1:])
        seen[f[1]] = seen.get(f[1], 0) + 1
        n += 1
    print("go pointers:", n, sorted(seen.items()))
    if len(seen) < 3:
        raise AssertionError("go pointers cover only %r" % seen)


test_root()
test_key_list()
test_open_key_list()
test_pointer()
test_manifest_file()
test_mutations()
if len(sys.argv) > 1:
    test_go(sys.argv[1])
print("ok test_trust")
