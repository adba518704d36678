# fakeorigin.py: an origin in memory in place of ferry.fetch, and signature
# checks that trust a marker instead of Ed25519 (note.open_note and
# note.open_file patched), so that test_update.py and test_ferry.py test the
# update cycle's own rules (order of trust, conditional polls, key-list
# versions, rollback, freeze, caps, what is written to flash) with the real
# trust.py, manifest.py and install.py parsing and checking real documents.
# Ed25519 and the network are tested by their own tests and, together with
# the cycle, by the Go end-to-end tests (e2e/micropython_test.go).
#
# A note here is its text, a blank line and one line "— NAME x"; a signature
# line "— untrusted x" makes it not signed by a trusted key.
import hashlib
from binascii import b2a_base64, hexlify

from ferry import fs, note, trust


def hexsha(b):
    return hexlify(hashlib.sha256(b).digest()).decode()


class Origin:
    def __init__(self):
        self.files = {}
        self.log = []

    def put(self, path, data):
        self.files[path] = data if isinstance(data, bytes) else data.encode()

    def get(self, url):
        path = url.split("/", 3)[3]
        self.log.append(path)
        return path, self.files.get(path)


ORIGIN = Origin()


class TooLarge(Exception):
    pass


class HashMismatch(Exception):
    pass


class Small:
    def __init__(self, status, body=None, etag=None):
        self.status, self.body, self.etag, self.last_modified = status, body, etag, None


class fetch:
    TooLarge = TooLarge
    HashMismatch = HashMismatch

    @staticmethod
    def small(url, limit, etag=None, since=None, cfg=None, feed=None):
        path, data = ORIGIN.get(url)
        if data is None:
            return Small(404)
        tag = '"%s"' % hexsha(data)[:16]
        if etag == tag:
            return Small(304, None, tag)
        if len(data) > limit:
            raise TooLarge(path)
        return Small(200, data, tag)

    @staticmethod
    def to_file(url, path, size, sha, cfg=None, feed=None):
        _, data = ORIGIN.get(url)
        if data is None:
            raise OSError("HTTP 404")
        if len(data) > size:
            raise TooLarge(path)
        f = fs.open_write(path)
        f.write(data)
        f.close()
        if hexsha(data) != sha:
            fs.remove(path)
            raise HashMismatch(path)
        return len(data)

    @staticmethod
    def blob(url, w, size, cfg=None, feed=None):
        _, data = ORIGIN.get(url)
        if data is None:
            raise OSError("HTTP 404 " + url)
        for i in range(0, len(data), 64):
            w.write(data[i:i + 64])
            if feed:
                feed()
        return len(data)

    @staticmethod
    def blob_path(sha):
        return "blobs/" + sha

    @staticmethod
    def patch_path(old, new):
        return "deltas/%s/%s.mpatch" % (old, new)

    @staticmethod
    def _stream(url, sink, cap, cfg=None, feed=None):
        # The update bundle's download (mbundle.py): 404 unless put.
        path, data = ORIGIN.get(url)
        if data is None:
            from ferry import http
            raise http.HTTPError("%s: HTTP 404" % url, 404)
        if len(data) > cap:
            raise TooLarge(path)
        sink(data)
        return len(data)

    @staticmethod
    def patch(url, base, w, size, cfg=None, feed=None):
        ORIGIN.get(url)
        raise OSError("HTTP 404: this origin has no patches")


def _sigs(block):
    if b"untrusted" in block:
        raise note.UntrustedError("signed note: not signed by a trusted key (signed by untrusted)")


def open_note(msg, keys, threshold=1, feed=None):
    i = msg.rfind(b"\n\n")
    if i < 0:
        raise note.FormatError("signed note: no blank line before the signatures")
    _sigs(msg[i + 2:])
    return msg[:i + 1], []


def open_file(f, keys, threshold=1, feed=None, buf=None, sha256=None, mismatch=None):
    f.seek(0)
    data = f.read()
    d = hashlib.sha256(data).digest()
    if sha256 is not None and d != sha256:
        raise mismatch()
    i = data.rfind(b"\n\n")
    _sigs(data[i + 2:])
    return i + 1, [], d


def install():
    import ferry
    import sys
    ferry.fetch = fetch
    sys.modules["ferry.fetch"] = fetch
    note.open_note = open_note
    note.open_file = open_file


def vkey(name):
    key = b"\x01" + hashlib.sha256(name).digest()
    return "%s+%08x+%s" % (name.decode(), note.key_hash(name, key), b2a_base64(key).decode().strip())


def signed(text, signer="ferry-signing-1"):
    return (text + "\n\u2014 %s x\n" % signer).encode()


class Publisher:
    # Writes releases into ORIGIN as `ferry release` lays them out.
    def __init__(self, now):
        self.now = now
        self.seq = 0
        fs.write_atomic("/root.pub", ("# threshold 1\n" + vkey(b"ferry-root-1") + "\n").encode())
        self.keys(1)

    def keys(self, version, expires=None, fmt=2, extra=""):
        e = trust.fmt_time(expires or self.now + 86400 * 365)
        k = vkey(b"ferry-signing-1")
        if fmt == 2:
            ORIGIN.put("keys/signing-keys-2.note", signed("ferry-signing-keys 2\nexpires %s\nversion %d\nkey %s\n%s" % (e, version, k, extra), "ferry-root-1"))
        else:
            ORIGIN.files.pop("keys/signing-keys-2.note", None)
        ORIGIN.put("keys/signing-keys.note", signed("ferry-signing-keys 1\nexpires %s\nkey %s\n" % (e, k), "ferry-root-1"))

    def release(self, version, files, expires=None, seq=None, channel="stable", signer="ferry-signing-1"):
        self.seq = seq or self.seq + 1
        e = trust.fmt_time(expires or self.now + 86400 * 7)
        lines = ["ferry-manifest 1", "channel " + channel, "version " + version, "sequence %d" % self.seq,
                 "created " + trust.fmt_time(self.now - 60), "expires " + e, "files %d" % len(files)]
        for p in sorted(files):
            c = files[p].encode()
            lines.append("f 0644 %d %d %s %s" % (len(c), len(c), hexsha(c), p))
            ORIGIN.put("blobs/" + hexsha(c), c)
        doc = signed("\n".join(lines) + "\n", signer)
        ORIGIN.put("releases/%s/manifest.note" % version, doc)
        ptr = self.pointer(channel, version, self.seq, doc, e, signer)
        ORIGIN.put("channels/%s.note" % channel, ptr)
        return ptr

    def pointer(self, channel, version, seq, doc, expires, signer="ferry-signing-1", rollout=100):
        return signed("ferry-channel 1\nchannel %s\nversion %s\nsequence %d\nmanifest %s\nmanifest-size %d\nexpires %s\nrollout %d\n"
                      % (channel, version, seq, hexsha(doc), len(doc), expires, rollout), signer)
