# ferry/mcheck.py: cycle.py's steps between the manifest's signature and the
# downloads: every line of the verified manifest checked (the caps, its
# channel, version, sequence and expiry against the pointer's) before any
# is acted on, then the install planned from it (install.py's plan, on
# flash). Loaded for those steps only (ferry/mods.py), with the manifest
# parser and the installer they use.

from ferry import fs
from ferry.errors import ExpiredError, ManifestError, MismatchError, NoteError
from ferry.mods import need


def lines(cy, path, ptr, mpath, end):
    # Every line of the manifest at mpath (its text: end bytes) valid, the
    # caps kept, and its header the pointer's; path names it in errors.
    f = fs.open_read(mpath)
    try:
        try:
            m = manifest(cy, f, end)
            _header(cy, path, m, ptr)
            for _ in m.files():
                cy.feed()
        except (NoteError, ManifestError) as e:
            raise type(e)("%s: %s" % (path, e.args[0]))
    finally:
        f.close()
    if not m.signed:
        raise MismatchError("%s lists files without a SHA-256" % path)


def _header(cy, path, m, ptr):
    if m.channel != ptr.channel or m.version != ptr.version or m.sequence > ptr.sequence:
        raise MismatchError("%s is %s %s #%d, the pointer says %s %s #%d"
                            % (path, m.channel, m.version, m.sequence, ptr.channel, ptr.version, ptr.sequence))
    if m.created > cy.good:
        cy.good = m.created  # a signed lower bound on the time
    if cy.at() > m.expires:
        raise ExpiredError("%s expired %s" % (path, need("trust").fmt_time(m.expires)))


def plan(cy, rec, mpath, newrec):
    # The plan of the install of the manifest at mpath over rec's, on flash
    # (txn/plan; the cycle recovered at its start); returns the transaction
    # as plain values (install.Txn.detach()).
    inst = cy.installer()
    old = inst.manifest_path(rec) if rec else None
    t = inst.begin(newrec, trial=cy.trial, recover=False)
    nf = of = None
    try:
        nf = fs.open_read(mpath)
        of = fs.open_read(old) if old else None
        t.plan(entries(cy, nf), entries(cy, of) if of else None)
        return t.detach()
    except BaseException:
        t.abort()
        raise
    finally:
        for f in (nf, of):
            if f is not None:
                f.close()


def entries(cy, f):
    # The file entries of the signed manifest note in the open file f
    # (verified when it was fetched), streamed.
    text = need("text")
    split = text.find_split(f, text.size(f), bytearray(512))
    if split < 0:
        raise NoteError("stored manifest: not a signed note: remove %s" % cy.cfg.state)
    f.seek(0)
    return manifest(cy, f, split + 1, False).files()


def manifest(cy, f, end, header=True):
    # header=False: its header was checked (by lines(), or when it was
    # installed); the plan reads its file lines only.
    c = cy.cfg
    return need("manifest").Manifest(f, end, c.max_files, c.max_file_mb << 20, c.max_total_mb << 20, header=header)
