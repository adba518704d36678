# Tests of ferry.rollout (issue #16): the rollout document's parser, its
# verification with the keys of role rollout:<channel> only (real Ed25519,
# notekit's signatures), the pointer's rollout-doc and keys headers, and the
# gate's decisions (halt, percent, missing, expired, other release, replay,
# conditional fetch and its cache) against an origin in memory; with a
# folder as argv[1], Go's verdicts on rollout documents internal/mpyvec made
# and mutated (rollout.txt):
#   node micropython/runner/exec.mjs micropython/tests/test_rollout.py
#   go test -count=1 -run TestRolloutVectors -v ./internal/mpyvec/
import sys
import hashlib
import binascii
from ferry import fs, records, rollout, trust, note, manifest as mf
from notekit import Signer, sign_note, expect_error, code_of

S1 = Signer(b"ferry-signing-1", b"\x21" * 32)
X1 = Signer(b"fleet-rollout", b"\x23" * 32)
X2 = Signer(b"fleet-rollout-other", b"\x24" * 32)
NOW = 1798761600  # 2027-01-01T00:00:00Z
DIG = hashlib.sha256(b"m").digest()
HEX = binascii.hexlify(DIG)
KEYLIST = b"ferry-signing-keys 2\nexpires 2028-11-30T00:00:00Z\nversion 3\nkey %s\nkey %s rollout:stable\nkey %s rollout:beta\n" % (
    S1.vkey, X1.vkey, X2.vkey)


def want(name, got, w):
    if got != w:
        raise AssertionError("%s: got %r, want %r" % (name, got, w))


def doc(percent=10, halted=0, issued=b"2026-12-31T00:00:00Z", expires=b"2027-01-02T00:00:00Z",
        version=b"1.4.0", channel=b"stable", manifest=HEX, reason=b"failure rate 9% reaches 5%"):
    t = b"ferry-rollout 1\nchannel %s\nversion %s\nsequence 7\nmanifest %s\npercent %d\nhalted %d\nissued %s\nexpires %s\n" % (
        channel, version, manifest, percent, halted, issued, expires)
    return t + (b"reason %s\n" % reason if reason is not None else b"")


def test_parse():
    d = rollout.parse(doc(halted=1))
    want("doc", (d.channel, d.version, d.sequence, d.manifest, d.percent, d.halted, d.reason, d.issued, d.expires),
         ("stable", "1.4.0", 7, DIG, 10, True, "failure rate 9% reaches 5%", NOW - 86400, NOW + 86400))
    want("no reason", rollout.parse(doc(reason=None)).reason, "")
    want("unknown keys ignored", rollout.parse(doc() + b"future-key x\n").percent, 10)
    for bad in (doc(percent=101), doc(percent=-1), doc(halted=2), doc(issued=b"2027-01-03T00:00:00Z"),
                doc()[:-1], doc().replace(b"percent 10\n", b""), doc().replace(b"issued", b"issue"),
                doc(channel=b"a/b"), doc(manifest=HEX[:-2]), doc() + b"percent 5\n",
                doc().replace(b"ferry-rollout", b"ferry-channel"), doc(reason=b"a\rb"),
                doc(issued=b"0001-01-01T00:00:00Z")):
        expect_error(mf.FormatError, rollout.parse, bad)
    expect_error(mf.VersionError, rollout.parse, doc().replace(b"ferry-rollout 1", b"ferry-rollout 2"))


def key_list():
    return trust.parse_key_list(KEYLIST, NOW)


def test_open():
    kl = key_list()
    d = rollout.open_doc(sign_note(doc(), X1), kl, "stable")
    want("signed by rollout:stable", d.percent, 10)
    # Only rollout:<channel> keys: not the release key, not another channel's.
    want("release key", code_of(rollout.open_doc, sign_note(doc(), S1), kl, "stable"), "untrusted")
    want("other channel's key", code_of(rollout.open_doc, sign_note(doc(), X2), kl, "stable"), "untrusted")
    want("its own channel", rollout.open_doc(sign_note(doc(channel=b"beta"), X2), kl, "beta").channel, "beta")
    forged = sign_note(doc(), X1).replace(b"percent 10", b"percent 99")
    want("tampered", code_of(rollout.open_doc, forged, kl, "stable"), "bad-signature")


def pointer(extra=b""):
    return b"ferry-channel 1\nchannel stable\nversion 1.4.0\nsequence 7\nmanifest %s\nmanifest-size 42\nexpires 2028-11-30T00:00:00Z\nrollout 5\n%s" % (HEX, extra)


def test_pointer_headers():
    want("absent", (trust.parse_pointer(pointer()).rollout_doc, trust.parse_pointer(pointer()).keys), (False, None))
    want("rollout-doc 1", trust.parse_pointer(pointer(b"rollout-doc 1\n")).rollout_doc, True)
    want("rollout-doc 0", trust.parse_pointer(pointer(b"rollout-doc 0\n")).rollout_doc, False)
    want("keys", trust.parse_pointer(pointer(b"keys 3 %s\nrollout-doc 1\n" % HEX)).keys, (3, DIG))
    for bad in (b"rollout-doc 2\n", b"rollout-doc yes\n", b"keys 0 %s\n" % HEX, b"keys 3\n", b"keys x %s\n" % HEX,
                b"keys 3 %s\n" % HEX[:-1], b"rollout-doc 1\nrollout-doc 1\n"):
        expect_error(mf.FormatError, trust.parse_pointer, pointer(bad))


class Origin:
    def __init__(self):
        self.files, self.log = {}, []

    no_etag = False  # an origin with Last-Modified only

    def small(self, url, limit, etag=None, since=None, cfg=None, feed=None):
        path = url[len("http://o.test/"):]
        data = self.files.get(path)
        tag = '"%s"' % binascii.hexlify(hashlib.sha256(data).digest()[:8]).decode() if data else None
        self.log.append((path, etag or since))
        if data is None:
            return Small(404, None, None)
        if self.no_etag:
            return Small(304, None, None) if since == tag else Small(200, data, None, tag)
        return Small(304, None, tag) if etag == tag else Small(200, data, tag)


class Small:
    def __init__(self, status, body, etag, lm=None):
        self.status, self.body, self.etag, self.last_modified = status, body, etag, lm


class Cfg:
    channel = "stable"
    state = "/rstate"


class FakeCycle:
    # What rollout.gate uses of a cycle.Cycle.
    def __init__(self):
        self.cfg, self.now, self.key_fetches, self.logs = Cfg(), NOW, 0, []

    def url(self, path):
        return "http://o.test/" + path

    def feed(self):
        pass

    def at(self):
        return self.now

    def log(self, msg):
        self.logs.append(msg)

    def signing_keys(self):
        self.key_fetches += 1
        kl = key_list()
        return kl.format, kl.version, kl.expires, [(k.name, k.hash, k.pub, k.roles) for k in kl.keys]

    def key_list(self, keys):
        f, v, e, ks = keys
        return trust.KeyList(f, v, e, [note.Key(*k) for k in ks])


def test_gate():
    import ferry
    o = Origin()
    ferry.fetch = o  # rollout.py imports ferry.fetch when it fetches
    sys.modules["ferry.fetch"] = o
    fs.makedirs(Cfg.state)
    cyc = FakeCycle()
    path = "rollouts/stable.note"

    def gate():
        p = trust.parse_pointer(pointer(b"rollout-doc 1\n"))
        why, keys = rollout.gate(cyc, p, None)
        return why, p.rollout, keys is not None

    want("missing", gate(), ("no rollout document %s: waiting for the fleet service" % path, 5, False))
    want("nothing cached", records.exists(Cfg.state, rollout.CACHE), False)
    o.files[path] = sign_note(doc(halted=1), X1)
    want("halted", gate(), ("halted by the fleet: failure rate 9% reaches 5%", 5, True))
    want("cached", records.read_json(Cfg.state, rollout.CACHE)["doc"].encode(), o.files[path])
    # Unchanged: one conditional request, no key list, no write.
    n = cyc.key_fetches
    o.files[path] = sign_note(doc(percent=30, issued=b"2026-12-31T01:00:00Z"), X1)
    want("percent replaces the pointer's", gate(), ("", 30, True))
    want("keys fetched for a new document", cyc.key_fetches, n + 1)
    data = records.read(Cfg.state, rollout.CACHE)
    want("304", gate(), ("", 30, False))
    want("conditional", o.log[-1][1] is not None, True)
    want("no key fetch on 304", cyc.key_fetches, n + 1)
    want("cache unchanged", records.read(Cfg.state, rollout.CACHE), data)
    # A replay of an older document for the same release is ignored.
    o.files[path] = sign_note(doc(halted=1, issued=b"2026-12-30T00:00:00Z"), X1)
    want("replay ignored", gate(), ("", 30, True))
    want("replay logged", len(cyc.logs), 1)
    want("replay not cached", records.read(Cfg.state, rollout.CACHE), data)
    # Fail safe: every other case defers.
    o.files[path] = sign_note(doc(version=b"1.3.0", manifest=b"ab" * 32), X1)
    want("other release", gate()[0], "rollout document %s names stable 1.3.0, the channel offers 1.4.0: waiting for the fleet service" % path)
    o.files[path] = sign_note(doc(issued=b"2026-12-31T02:00:00Z"), S1)
    why = gate()[0]
    want("untrusted", why.startswith("rollout document %s refused: signed note: signed by ferry-signing-1" % path) and why.endswith("(only keys of role rollout:stable sign it)"), True)
    o.files[path] = sign_note(doc(issued=b"2026-12-31T02:00:00Z", expires=b"2026-12-31T12:00:00Z"), X1)
    want("expired", gate()[0], "rollout document %s expired 2026-12-31T12:00:00Z: waiting for the fleet service" % path)
    o.files[path] = b"not a note"
    want("malformed", gate()[0].startswith("rollout document %s refused: " % path), True)
    # Without an ETag, If-Modified-Since.
    o.no_etag = True
    o.files[path] = sign_note(doc(percent=40, issued=b"2026-12-31T02:30:00Z"), X1)
    want("last-modified", gate(), ("", 40, True))
    n = cyc.key_fetches
    want("304 by last-modified", gate(), ("", 40, False))
    want("no key fetch on that 304", cyc.key_fetches, n)
    o.no_etag = False
    # A corrupt cache starts afresh.
    records.write(Cfg.state, rollout.CACHE, b"{not json")
    o.files[path] = sign_note(doc(percent=100, issued=b"2026-12-31T03:00:00Z"), X1)
    want("after a corrupt cache", gate(), ("", 100, True))


def test_go_pointers(folder):
    # ptrhdr.txt: "N ok ROLLOUT-DOC KEYS-VERSION KEYS-SHA256" or "N CODE":
    # Go's ParsePointer on pointers with the keys and rollout-doc lines.
    n, seen = 0, {}
    for line in open(folder + "/ptrhdr.txt"):
        f = line.split()
        data = open("%s/ptrhdr/%s" % (folder, f[0]), "rb").read()
        try:
            p = trust.parse_pointer(data)
            k = p.keys or (0, b"\0" * 32)
            got = ["ok", "true" if p.rollout_doc else "false", str(k[0]), binascii.hexlify(k[1]).decode()]
        except mf.ManifestError as e:
            got = [e.code]
        want("go pointer %s (%r)" % (f[0], data), got, f[1:])
        seen[" ".join(got[:2])] = seen.get(" ".join(got[:2]), 0) + 1
        n += 1
    print("go pointers with keys and rollout-doc lines:", n, sorted(seen.items()))
    if len(seen) < 3:
        raise AssertionError("go pointers cover only %r" % seen)


def test_go(folder):
    try:
        open(folder + "/ptrhdr.txt").close()
    except OSError:
        pass
    else:
        return test_go_pointers(folder)
    # rollout.txt: "N ok FIELDS" or "N CODE": Go's ParseRolloutDoc on
    # documents internal/mpyvec made and mutated (TestRolloutVectors).
    n, seen = 0, {}
    for line in open(folder + "/rollout.txt"):
        f = line.split()
        data = open("%s/rollout/%s" % (folder, f[0]), "rb").read()
        try:
            d = rollout.parse(data)
            got = ["ok", d.channel, d.version, str(d.sequence), binascii.hexlify(d.manifest).decode(), str(d.percent),
                   str(int(d.halted)), str(d.issued), str(d.expires)]
        except mf.ManifestError as e:
            got = [e.code]
        want("go rollout document %s (%r)" % (f[0], data), got, f[1:])
        seen[f[1]] = seen.get(f[1], 0) + 1
        n += 1
    print("go rollout documents:", n, sorted(seen.items()))
    if len(seen) < 3:
        raise AssertionError("go rollout documents cover only %r" % seen)


test_parse()
test_open()
test_pointer_headers()
test_gate()
if len(sys.argv) > 1:
    test_go(sys.argv[1])
print("ok test_rollout")
