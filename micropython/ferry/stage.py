# Verified staging of new content (see the comment at the top of install.py),
# and the download step of a planned install (Staging): the put ops streamed
# from txn/plan, each staged through a StageWriter, with none of the
# installer's code loaded (install.Txn.detach() and Installer.resume() hand
# the transaction over and back).

from binascii import hexlify

from ferry import fs
from ferry.digest import hash_file, new_hash  # noqa: F401 (the API's)
from ferry.ops import READY, ChecksumError, ShortError, op_at


def needed(plan_path, target, ready=None):
    """Yield the put ops of the plan at plan_path; op.base is the target's
    file at op.path when there is one (a delta's base), else None. Each op
    is read at the offset where the last one ended, the file closed in
    between: a step that downloads a file holds no line buffer. An op that
    ready(op) stages (the update bundle's content, see ready()) is not
    yielded."""
    pos = None
    while True:
        op, pos = op_at(plan_path, pos, "put")
        if op is None:
            return
        if ready is not None and ready(op):
            continue
        t = target + "/" + op.path
        if fs.kind(t) == "f":
            op.base = t
        yield op


def ready(state, path, op, feed, done):
    """Stage op into the stage file at path from content the update bundle
    decoded ahead of the plan (mbundle.py: <state>/downloads/ready/<digest>):
    moved, not copied, and checked as a download is; then done(op.n).
    False when there is none or it is wrong (the op is downloaded then)."""
    p = state.rstrip("/") + READY + "/" + op.sha256
    if fs.kind(p) != "f":
        return False
    fs.rename(p, path)
    if fs.size(path) == op.size and hash_file(path, op.size, op.sha256, None, feed) == op.sha256:
        done(op.n)
        return True
    fs.remove(path)
    return False


class Staging:
    # The download step of a planned install: what install.Txn's needed()
    # and stage() do, from the plan on flash. n: the ops planned (0: no
    # plan file); staged counts the files verified, for Installer.resume().

    def __init__(self, state, target, n, feed=None):
        self.state = state
        self.txn = state.rstrip("/") + "/txn"
        self.target = target.rstrip("/")
        self.n = n
        self.staged = 0
        self.feed = feed

    def needed(self):
        if self.n:
            yield from needed(self.txn + "/plan", self.target, self._ready)

    def _ready(self, op):
        return ready(self.state, self.txn + "/stage/" + str(op.n), op, self.feed, self.done)

    def stage(self, op):
        return StageWriter(self.txn + "/stage/" + str(op.n), op, self.done)

    def done(self, n):
        self.staged += 1

    def hash_file(self, path, size, digest):
        return hash_file(path, size, digest, None, self.feed)

    def abort(self):
        # Drop the transaction (before its journal, the target is untouched).
        if fs.kind(self.txn + "/journal") is None:
            fs.remove_tree(self.txn)


class StageWriter:
    # Writes one file's new content into the stage file at path, hashing as
    # it goes.
    #
    # write() fails (ChecksumError) as soon as more bytes arrive than the
    # manifest says; close() fails (ShortError, ChecksumError) unless the size
    # and SHA-256 are right, and then removes the stage file; when they are,
    # it calls done(op.n).

    def __init__(self, path, op, done=None):
        self.op = op
        self.path = path
        self.done = done
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
        if self.done is not None:
            self.done(op.n)

    def _fail(self, err):
        if self.f is not None:
            f, self.f = self.f, None
            f.close()
        if fs.kind(self.path) == "f":
            fs.remove(self.path)
        raise err
