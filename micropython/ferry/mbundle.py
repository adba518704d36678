# ferry/mbundle.py: the update bundle (issue #14), for cycle.py's manifest
# step. deltas/<installed note>/<new note>.mbundle (Go: internal/mbundle,
# whose doc is the format and its compatibility promise) is one zlib stream
# (window 2**11, as the .z blobs) of "FMB1", the changed files (each: a
# base, the file line of the installed note whose file it copies from; its
# size; copy/literal commands) and then the commands that rebuild the new
# manifest note from the installed one, each changed file's SHA-256 left
# out ('H': the board puts in the digest it computed).
#
# The board fetches it in one request (capped by the pointer's note size
# and max_total_mb), then decodes it from flash in bounded memory: every
# file into <state>/downloads/ready/<its SHA-256> (hashed while it
# streams), the note into the manifest's download path. The note must have
# the size and SHA-256 the signed pointer names; its signatures are then
# checked by the cycle as for a downloaded note, and only after that does
# the installer take a ready file, for a verified line naming its digest
# (install.Txn.needed(), which checks it again). Caps: at most max_files
# files, each at most max_file_mb, max_total_mb together; the note exactly
# the pointer's size; a copy only within its source. Any failure refuses
# the bundle (MismatchError; the cycle removes the downloads folder, the
# target is untouched). The per-file path (the note's .mpatch, the files'
# .mpatch or .z blobs) is taken only when the origin has no bundle (404), a
# base file on the flash no longer holds its installed content, or the flash
# lacks room to stage a file (Stale; the plan then refuses with the numbers),
# and on links that cost money (issue #17 prices an update as blobs).
import deflate
import hashlib
from binascii import hexlify

from micropython import const

from ferry import fetch, fs, http, records
from ferry.digest import hash_file
from ferry.errors import MismatchError, again

WBITS = const(11)
_BUF = const(1280)  # one base line (a manifest line is at most 1200 bytes) or a chunk
READY = "downloads/ready"  # plan.py's READY: decoded files by SHA-256


class Stale(Exception):
    """A base file is not the installed one: the bundle does not apply."""


def manifest(cy, ptr, mpath, res, base):
    # The new note into mpath and the changed files into READY from the
    # bundle from the installed note (base, named by its SHA-256). True:
    # done; False: take the per-file path.
    c = cy.cfg
    links = getattr(cy, "links", None)
    if links is not None and not links.free():  # issue #17: priced as blobs
        return False
    name = "deltas/%s/%s.mbundle" % (base[base.rfind("/") + 1:], hexlify(ptr.manifest).decode())
    tmp = records.path(c.state, "downloads/bundle.z")
    n = ptr.manifest_size + (c.max_total_mb << 20)
    f = []  # opened with the first byte: a 404 writes nothing

    def sink(b):
        if not f:
            f.append(fs.open_write(tmp))
        f[0].write(b)

    try:  # at most mbundle.MaxSize in Go: layout.ZlibCap(n) + 1024
        got = fetch._stream(cy.url(name), sink, n + n // 64 + 64 + 1024, c, cy.feed)
    except http.HTTPError as e:
        if e.status != 404:
            raise again(e, "fetch update bundle %s: " % name)
        return False
    finally:
        if f:
            f[0].close()
    if not f:
        raise MismatchError("%s: empty" % name)
    res.downloaded += got
    ok = False
    try:
        apply(c, tmp, base, mpath, ptr.manifest_size, ptr.manifest, cy.feed)
        ok = True
    except Stale as e:
        cy.log("update bundle not used: %s" % e.args[0])
    except MismatchError as e:
        raise MismatchError("%s: %s" % (name, e.args[0]))
    finally:
        fs.remove(tmp)
        if not ok:
            fs.remove_tree(records.path(c.state, READY))
            if fs.kind(mpath) == "f":
                fs.remove(mpath)
    return ok


def apply(c, path, note, mpath, size, digest, feed):
    # Decodes the bundle at path against the installed note (at note) and
    # the target's files: the files into READY, the note into mpath, which
    # must be size bytes with SHA-256 digest. Raises Stale or MismatchError.
    ready = records.path(c.state, READY)
    fs.remove_tree(ready)
    fs.makedirs(ready)
    try:
        _Decoder(c, ready, feed).run(path, note, mpath, size, digest)
    except (OSError, ValueError, EOFError, IndexError, OverflowError) as e:  # deflate's, a hostile line's
        raise MismatchError("does not decode (%r)" % e)
    fs.remove(ready + "/sums")  # left: the files, each taken by the plan's op for its digest


class _Decoder:
    def __init__(self, c, ready, feed):
        self.c = c
        self.ready = ready
        self.feed = feed or (lambda: None)
        self.buf = bytearray(_BUF)
        self.mv = memoryview(self.buf)
        self.one = memoryview(self.buf)[:1]

    def run(self, path, note, mpath, size, digest):
        c = self.c
        z = fs.open_read(path)
        old = fs.open_read(note)
        sums = None
        try:
            self.d = deflate.DeflateIO(z, deflate.ZLIB, WBITS)
            self.fill(self.d, self.mv[:4])
            if bytes(self.mv[:4]) != b"FMB1":
                raise MismatchError("not a version-1 update bundle")
            n = self.uvarint()
            if n > c.max_files:
                raise MismatchError("%d files, max_files is %d" % (n, c.max_files))
            sums = fs.open_write(self.ready + "/sums")  # the files' digests, in order
            left = c.max_total_mb << 20
            for _ in range(n):
                left -= self.file(old, sums, left)
            sums.close()
            sums = fs.open_read(self.ready + "/sums")
            self.n = n
            made = self.make(mpath, old, fs.size(note), size, sums)
            if made != digest:
                raise MismatchError("makes a manifest note the signed channel pointer does not name")
            if self.n or self.d.readinto(self.one):
                raise MismatchError("%d digests left, or data after the end" % self.n)
        finally:
            for f in (sums, old, z):
                if f is not None:
                    f.close()

    def fill(self, src, mv):
        # Exactly len(mv) bytes of src.
        got = 0
        while got < len(mv):
            n = src.readinto(mv[got:] if got else mv)
            if not n:
                raise MismatchError("ends early")
            got += n

    def uvarint(self):
        x = shift = 0
        while shift < 64:
            self.fill(self.d, self.one)
            b = self.buf[0]
            x |= (b & 0x7F) << shift
            if b < 0x80:
                return x
            shift += 7
        raise MismatchError("number too long")

    def file(self, old, sums, left):
        # One file's entry: into READY/<its SHA-256>; returns its size.
        ref = self.uvarint()
        src, srcsize = self.base(old, ref - 1) if ref else (None, 0)
        try:
            size = self.uvarint()
            if size > self.c.max_file_mb << 20 or size > left:
                raise MismatchError("a file of %d bytes: over max_file_mb or max_total_mb" % size)
            self.room(size)
            tmp = self.ready + "/part"
            made, d = self.write(tmp, src, srcsize, size, None)
            if made != size:
                raise MismatchError("a file of %d bytes makes %d" % (size, made))
            sums.write(d)
            p = self.ready + "/" + hexlify(d).decode()
            if fs.exists(p):
                fs.remove(p)
            fs.rename(tmp, p)
            return size
        finally:
            if src is not None:
                src.close()

    def base(self, old, off):
        # The target's file of the installed note's line at byte off,
        # checked against that line's size and SHA-256; open, and its size.
        b = self.buf
        if off < 1:
            raise MismatchError("base at byte %d" % off)
        old.seek(off - 1)
        k = old.readinto(self.mv)
        e = bytes(self.mv[1:k]).find(b"\n") if k > 3 and b[0] == 10 and b[1] == 102 and b[2] == 32 else -1
        if e < 0:
            raise MismatchError("base at byte %d is not a file line of the installed manifest" % off)
        f = bytes(self.mv[1:1 + e]).split(b" ", 5)
        size, sha, p = int(f[2]), f[4].decode(), f[5].decode()
        full = self.c.target.rstrip("/") + "/" + p
        if fs.size(full) != size or hash_file(full, size, sha, self.buf, self.feed) != sha:
            raise Stale("%s is not the installed file" % p)
        return fs.open_read(full), size

    def room(self, size):
        st = fs.statvfs(self.ready)
        if st:
            bs = st[0] or 4096
            if (size // bs + 2) * bs > bs * st[4]:
                raise Stale("not enough flash to stage %d bytes" % size)

    def make(self, mpath, old, oldsize, size, sums):
        # The note: into mpath, exactly size bytes; returns its SHA-256.
        made, d = self.write(mpath, old, oldsize, size, sums)
        if made != size:
            raise MismatchError("makes a note of %d bytes, the signed channel pointer says %d" % (made, size))
        return d

    def write(self, path, src, srcsize, limit, sums):
        # Runs commands into the file at path (see cmds); returns the bytes
        # made and their SHA-256.
        out = fs.open_write(path)
        h = hashlib.sha256()
        try:
            made = self.cmds(src, srcsize, limit, out, h, sums)
        finally:
            out.close()
        return made, h.digest()

    def cmds(self, src, srcsize, limit, out, h, sums):
        # Runs commands up to 'E', at most limit bytes into out and h;
        # returns the bytes made. sums: 'H' takes the next digest from it.
        pos = 0
        mv = self.mv
        while True:
            self.feed()
            self.fill(self.d, self.one)
            op = self.buf[0]
            if op == 69:  # E
                return pos
            if op == 72 and sums is not None:  # H
                if not self.n or pos + 64 > limit:
                    raise MismatchError("a digest too many")
                self.n -= 1
                self.fill(sums, mv[:32])
                x = hexlify(mv[:32])
                out.write(x)
                h.update(x)
                pos += 64
                continue
            if op == 67:  # C
                off = pos + self.zigzag()
                k = self.uvarint()
                if src is None or k < 1 or off < 0 or off + k > srcsize:
                    raise MismatchError("a copy of %d bytes from byte %d of %d" % (k, off, srcsize))
                src.seek(off)
                s = src
            elif op == 76:  # L
                k = self.uvarint()
                s = self.d
            else:
                raise MismatchError("unknown command %d" % op)
            if k < 1 or pos + k > limit:
                raise MismatchError("makes more than %d bytes" % limit)
            pos += k
            while k:
                n = min(k, _BUF)
                v = mv if n == _BUF else mv[:n]
                self.fill(s, v)
                out.write(v)
                h.update(v)
                k -= n
                self.feed()

    def zigzag(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)
