# fakeorigin.py: stand-ins for ferry.fetch, ferry.trust and ferry.manifest
# that test_update.py puts in place, so that update.py's own rules (order of
# trust, conditional polls, key-list versions, rollback, freeze, caps, what is
# written to flash) are tested apart from the network and the signatures.
# The real modules are tested by their own tests and, together with
# update.py, by the Go end-to-end tests (e2e/micropython_test.go).
#
# Notes here are their text; a note "signed" by an untrusted key has a line
# "bad" in it. Times are unix seconds.
import hashlib
from binascii import hexlify

from ferry import fs


def hexsha(b):
    return hexlify(hashlib.sha256(b).digest()).decode()


class Origin:
    def __init__(self):
        self.files = {}
        self.log = []  # (path, status)

    def put(self, path, data):
        self.files[path] = data if isinstance(data, bytes) else data.encode()

    def get(self, url):
        path = url.split("/", 3)[3]
        self.log.append(path)
        return path, self.files.get(path)


ORIGIN = Origin()


class TrustError(Exception):
    pass


class ManifestError(Exception):
    pass


class TooLarge(Exception):
    pass


class HashMismatch(Exception):
    pass


class R:
    def __init__(self, status, body=None, etag=None):
        self.status, self.body, self.etag, self.last_modified = status, body, etag, None


class fetch:
    TooLarge = TooLarge
    HashMismatch = HashMismatch

    @staticmethod
    def small(url, limit, etag=None, since=None, cfg=None, feed=None):
        path, data = ORIGIN.get(url)
        if data is None:
            return R(404)
        tag = '"%s"' % hexsha(data)[:16]
        if etag == tag:
            return R(304, None, tag)
        if len(data) > limit:
            raise TooLarge(path)
        return R(200, data, tag)

    @staticmethod
    def to_file(url, path, size, sha, cfg=None, feed=None):
        _, data = ORIGIN.get(url)
        if data is None:
            raise OSError("HTTP 404")
        if len(data) > size:
            raise TooLarge(path)
        fs.makedirs(path[: path.rfind("/")])
        f = fs.open_write(path)
        f.write(data)
        f.close()
        if hexsha(data) != sha:
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


class Obj:
    pass


def _fields(note):
    text = note.decode() if isinstance(note, bytes) else note
    if "\nbad\n" in text:
        raise TrustError("not signed by a trusted key")
    lines = text.split("\n")
    d = {}
    for l in lines[1:]:
        if " " in l:
            k, v = l.split(" ", 1)
            d[k] = v
    return lines[0], d


class trust:
    TrustError = TrustError

    @staticmethod
    def load_roots(paths, threshold, log=None):
        return "roots"

    @staticmethod
    def open_keylist(roots, note, now, feed=None):
        magic, d = _fields(note)
        k = Obj()
        k.version = int(d.get("version", 0)) if magic == "ferry-signing-keys 2" else 0
        if now > int(d["expires"]):
            raise TrustError("signing-key list expired")
        return k

    @staticmethod
    def parse_pointer(note):
        magic, d = _fields(note)
        p = Obj()
        p.channel, p.version, p.manifest = d["channel"], d["version"], d["manifest"]
        p.sequence, p.manifest_size = int(d["sequence"]), int(d["manifest-size"])
        p.expires, p.rollout = int(d["expires"]), int(d["rollout"])
        return p

    @staticmethod
    def open_pointer(keys, note, feed=None):
        return trust.parse_pointer(note)


class manifest:
    ManifestError = ManifestError

    @staticmethod
    def open_signed(path, keys, feed=None):
        f = fs.open_read(path)
        data = f.read()
        f.close()
        magic, d = _fields(data)
        m = Obj()
        m.channel, m.version, m.sequence = d["channel"], d["version"], int(d["sequence"])
        m.created, m.expires, m.files = int(d["created"]), int(d["expires"]), int(d["files"])
        return m

    @staticmethod
    def entries(path):
        f = fs.open_read(path)
        data = f.read().decode()
        f.close()
        for l in data.split("\n"):
            if l.startswith("f "):
                _, mode, size, zsize, sha, p = l.split(" ", 5)
                e = Obj()
                e.mode, e.size, e.zsize, e.sha256, e.path = int(mode, 8), int(size), int(zsize), sha, p
                yield e


def install():
    import ferry
    import sys
    for name, mod in (("fetch", fetch), ("trust", trust), ("manifest", manifest)):
        setattr(ferry, name, mod)
        sys.modules["ferry." + name] = mod


class Publisher:
    # Writes releases into ORIGIN as the real publisher lays them out.
    def __init__(self, now):
        self.now = now
        self.seq = 0
        self.keys(1)

    def keys(self, version, expires=None, fmt=2):
        e = expires or self.now + 86400 * 365
        if fmt == 2:
            ORIGIN.put("keys/signing-keys-2.note", "ferry-signing-keys 2\nexpires %d\nversion %d\n" % (e, version))
        else:
            ORIGIN.files.pop("keys/signing-keys-2.note", None)
        ORIGIN.put("keys/signing-keys.note", "ferry-signing-keys 1\nexpires %d\n" % e)

    def release(self, version, files, expires=None, seq=None, channel="stable"):
        self.seq = seq or self.seq + 1
        e = expires or self.now + 86400 * 7
        lines = ["ferry-manifest 1", "channel " + channel, "version " + version, "sequence %d" % self.seq,
                 "created %d" % (self.now - 60), "expires %d" % e, "files %d" % len(files)]
        for p in sorted(files):
            c = files[p].encode()
            lines.append("f 0644 %d %d %s %s" % (len(c), len(c), hexsha(c), p))
            ORIGIN.put("blobs/" + hexsha(c), c)
        note = ("\n".join(lines) + "\n").encode()
        ORIGIN.put("releases/%s/manifest.note" % version, note)
        ptr = "ferry-channel 1\nchannel %s\nversion %s\nsequence %d\nmanifest %s\nmanifest-size %d\nexpires %d\nrollout 100\n" % (
            channel, version, self.seq, hexsha(note), len(note), e)
        ORIGIN.put("channels/%s.note" % channel, ptr)
        return ptr
