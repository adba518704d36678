# Verified staging of new content (see the comment at the top of install.py).

import hashlib
from binascii import hexlify

from ferry import fs
from ferry.journal import ChecksumError, ShortError


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


class StageWriter:
    # Writes one file's new content into the stage, hashing as it goes.
    #
    # write() fails (ChecksumError) as soon as more bytes arrive than the
    # manifest says; close() fails (ShortError, ChecksumError) unless the size
    # and SHA-256 are right, and then removes the stage file.

    def __init__(self, txn, op):
        self.txn = txn
        self.op = op
        self.path = txn.inst.stage_path(op.n)
        self.f = None
        self.restart()

    def restart(self):
        """Start over: drop what was written."""
        if self.f is not None:
            self.f.close()
        self.h = new_hash(self.op.sha256, self.op.size)
        self.written = 0
        self.f = fs.open_write(self.path)

    def write(self, b):
        n = len(b)
        if self.written + n > self.op.size:
            self._fail(ChecksumError("%s: more than the %d bytes the manifest says" % (self.op.path, self.op.size)))
        self.h.update(b)
        self.f.write(b)
        self.written += n
        return n

    def close(self):
        if self.f is None:
            return
        f, self.f = self.f, None
        f.close()
        op = self.op
        if self.written < op.size:
            self._fail(ShortError("%s: %d of %d bytes" % (op.path, self.written, op.size)))
        if hexlify(self.h.digest()).decode() != op.sha256:
            self._fail(ChecksumError("%s: %s does not match the manifest" % (op.path, "git SHA-1" if len(op.sha256) == 40 else "SHA-256")))
        self.txn._staged(op.n)

    def _fail(self, err):
        if self.f is not None:
            f, self.f = self.f, None
            f.close()
        if fs.kind(self.path) == "f":
            fs.remove(self.path)
        raise err
