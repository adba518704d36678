# ferry/digest.py: the digest of a file's content as a manifest names it
# (SHA-256, or the git blob SHA-1 of the GitHub developer channel), for the
# plan (is the file in place already right?), a delta's base and the
# staging writer.
import hashlib
from binascii import hexlify

from ferry import fs

_BUF = 512


def new_hash(digest, size):
    """A hash object for a hex digest: SHA-256 (64 hex), or for 40 hex the
    git blob SHA-1 (the GitHub developer channel) over "blob <size>\0" and
    the content; ferry.sha1 where hashlib lacks sha1."""
    if len(digest) != 40:
        return hashlib.sha256()
    f = getattr(hashlib, "sha1", None)
    if f is None:
        from ferry import sha1
        f = sha1.new
    h = f()
    h.update(("blob %d\0" % size).encode())
    return h


def hash_file(path, size, digest, buf=None, feed=None):
    """The hex digest (of digest's kind: see new_hash) of the first size
    bytes of the file at path."""
    h = new_hash(digest, size)
    buf = buf or bytearray(_BUF)
    mv = memoryview(buf)
    f = fs.open_read(path)
    try:
        left = size
        while left > 0:
            n = f.readinto(buf)
            if not n:
                break
            if n > left:
                n = left
            h.update(buf if n == len(buf) else mv[:n])  # no garbage a chunk
            left -= n
            if feed:
                feed()
    finally:
        f.close()
    return hexlify(h.digest()).decode()
