# ferry/mpatch.py: the decoder of a MicroPython patch (internal/layout's
# .mpatch, see fetch.patch): a zlib stream of "FMP1", the new size, then
# commands: C offset length (copy from the old file, seeking in it), L
# length bytes (literal), E (end). Imported by fetch.patch only, so that a
# download of whole blobs does not hold it.
import deflate

from ferry import fs
from ferry.fetch import CHUNK, WBITS, HashMismatch


class Patch:
    def __init__(self, url, tmp, base, size, feed):
        self.url = url
        self.tmp = tmp
        self.base = base
        self.size = size
        self.feed = feed
        self.one = bytearray(1)
        self.onev = memoryview(self.one)

    def bad(self, why):
        return HashMismatch("%s: %s" % (self.url, why))

    def fill(self, src, mv, what):
        # Reads exactly len(mv) bytes of src (the patch or the base).
        got = 0
        while got < len(mv):
            try:
                n = src.readinto(mv[got:])
            except (OSError, EOFError, ValueError) as e:
                if src is self.old:
                    raise
                raise self.bad("not a zlib stream with a %d-byte window (%r)" % (1 << WBITS, e))
            if not n:
                raise self.bad("%s ends early" % what)
            got += n

    def uvarint(self):
        x = shift = 0
        while shift < 64:
            self.fill(self.d, self.onev, "the patch")
            b = self.one[0]
            x |= (b & 0x7F) << shift
            if b < 0x80:
                return x
            shift += 7
        raise self.bad("number too long")

    def apply(self, w):
        f = fs.open_read(self.tmp)
        self.old = fs.open_read(self.base)
        try:
            self.d = deflate.DeflateIO(f, deflate.ZLIB, WBITS)
            self._run(w)
        finally:
            self.old.close()
            f.close()

    def _run(self, w):
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        self.fill(self.d, mv[:4], "the patch")
        if buf[:4] != b"FMP1":
            raise self.bad("not a MicroPython patch")
        n = self.uvarint()
        if n != self.size:
            raise self.bad("makes %d bytes, the manifest says %d" % (n, self.size))
        made = 0
        while True:
            self.fill(self.d, self.onev, "the patch")
            op = self.one[0]
            if op == 69:  # E
                break
            if op == 67:  # C
                src, what = self.old, "the old file %s" % self.base
                off = self.uvarint()
                try:
                    self.old.seek(off)
                except (OverflowError, OSError, ValueError) as e:  # an offset past a machine word
                    raise self.bad("copies from offset %d of %s (%r)" % (off, self.base, e))
            elif op == 76:  # L
                src, what = self.d, "the patch"
            else:
                raise self.bad("unknown command %d" % op)
            k = self.uvarint()
            if made + k > self.size:
                raise self.bad("makes more than %d bytes" % self.size)
            made += k
            while k:
                c = min(k, CHUNK)
                self.fill(src, mv[:c], what)
                w.write(mv[:c])
                k -= c
                if self.feed:
                    self.feed()
        if made != self.size:
            raise self.bad("makes %d bytes, the manifest says %d" % (made, self.size))
