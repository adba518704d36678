# ferry/download.py: the cycle's downloads through ferry.fetch (cycle.py's
# steps 4 and 5): the manifest note whole, and each file's content (the
# developer channel's raw file, a delta, or the release's blob). Apart from
# cycle.py, whose code is in the heap at every step of the cycle; loaded
# (ferry/mods.py) with the HTTP client for the steps that download.

from binascii import hexlify

from ferry.errors import MismatchError, again
from ferry.mods import need


def whole_manifest(cy, path, ptr, mpath, res):
    # The manifest note downloaded whole to mpath for cycle.Cycle cy.
    fetch = need("fetch")
    try:
        res.downloaded += fetch.to_file(cy.url(path), mpath, ptr.manifest_size, hexlify(ptr.manifest).decode(),
                                        cfg=cy.cfg, feed=cy.feed)
    except fetch.TooLarge:
        raise MismatchError("%s is larger than the %d bytes the signed channel pointer names" % (path, ptr.manifest_size))
    except fetch.HashMismatch:
        raise MismatchError("%s does not have the SHA-256 the signed channel pointer names" % path)
    except Exception as e:
        raise again(e, "fetch manifest %s: " % path)


def fetch_file(cy, t, op):
    # Stages op's content through t (a stage.Staging) for cycle.Cycle cy;
    # returns the bytes downloaded.
    w = t.stage(op)
    fetch = need("fetch")
    try:
        n = None
        if cy.commit_sha:  # the developer channel: the raw file
            n = fetch._stream(need("github").raw_url(cy, op.path), w.write, op.size, cy.cfg, cy.feed)
        elif op.base is not None and (cy.links is None or cy.links.free()):  # #17: priced as blobs
            n = need("delta").file(cy, t, op, w)
        if n is None:
            n = fetch.blob(cy.url(fetch.blob_path(op.sha256)), w, op.size, cfg=cy.cfg, feed=cy.feed)
        w.close()
    except Exception as e:
        raise again(e, "%s: " % op.path)
    return n
