# ferry/delta.py: updates from what the board already holds, for cycle.py:
# a .mpatch (internal/layout: copy ranges of the old content and literals,
# zlib) rebuilds a file from the file in place, or the new manifest note
# from the installed one. Every rebuilt content is checked as the whole
# one would be (a StageWriter's SHA-256; the pointer's size and SHA-256 for
# the note), and any failure (no patch on the origin, one that does not
# decode or check) falls back to the whole content.

from binascii import hexlify

from ferry import fetch, fs, records


def _hex(b):
    return hexlify(b).decode()


def manifest(cy, ptr, mpath, res, base):
    # The new manifest note rebuilt from the one installed (base, whose
    # name is its SHA-256) and a .mpatch, when the origin has one: it
    # must have the size and SHA-256 the pointer names, else the whole
    # note is fetched.
    old = base[base.rfind("/") + 1:]
    w = _HashFile(mpath, ptr.manifest_size)
    try:
        n = fetch.patch(cy.url(fetch.patch_path(old, _hex(ptr.manifest))), base, w, ptr.manifest_size,
                        cfg=cy.cfg, feed=cy.feed)
        ok = w.finish() == ptr.manifest
    except Exception as e:  # 404, a patch that does not decode: the whole note
        cy.log("manifest patch not used: %s" % e)
        drop(cy)
        w.finish()
        ok, n = False, 0
    res.downloaded += n
    return ok


def file(cy, t, op, w):
    # The new content from the file in place (op.base) and a .mpatch
    # from its content, when the origin has one; None: use the blob.
    # t: the stage.Staging of the install.
    size = fs.size(op.base)
    if size < 0:
        return None
    old = t.hash_file(op.base, size, op.sha256)
    try:
        return fetch.patch(cy.url(fetch.patch_path(old, op.sha256)), op.base, w, op.size,
                           cfg=cy.cfg, feed=cy.feed)
    except Exception as e:  # 404, a patch that does not decode or check
        cy.log("%s: patch not used: %s" % (op.path, e))
        drop(cy)
        w.restart()
        return None


def drop(cy):
    # fetch.patch's download, left behind when it failed.
    p = records.path(cy.cfg.state, "patch.z")
    if fs.exists(p):
        fs.remove(p)


class _HashFile:
    # A file written through, its SHA-256 computed as it goes; at most cap
    # bytes (more raise ValueError).
    def __init__(self, path, cap):
        import hashlib
        self.h = hashlib.sha256()
        self.f = fs.open_write(path)
        self.n = 0
        self.cap = cap
        self.path = path

    def write(self, b):
        self.n += len(b)
        if self.n > self.cap:
            raise ValueError("%s: more than %d bytes" % (self.path, self.cap))
        self.h.update(b)
        self.f.write(b)
        return len(b)

    def finish(self):
        if self.f is not None:
            self.f.close()
            self.f = None
        return self.h.digest() if self.n == self.cap else None
