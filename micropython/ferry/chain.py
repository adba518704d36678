# ferry/chain.py: the chain of trust of one update cycle (cycle.py's steps
# 1 to 3: the channel pointer, the signing-key list, the pointer verified
# with it), as generators of steps.
#
# A signature check needs the signed-note, Ed25519 and SHA-512 code
# (note.py and what it loads); parsing what was verified needs trust.py and
# the header parser (manifest.py). The two never share a step: a step
# verifies and ends holding the text it verified (bytes), or parses and
# ends holding plain values, so that each step holds one of the two groups
# of code (ferry/mods.py releases the other between steps). Keys cross
# steps as plain tuples (name, hash, pub, roles), never as objects of a
# released module.

from binascii import unhexlify

from ferry import fs, records
from ferry.cycle import KEYS, NOTE_MAX, POINTER
from ferry.errors import NoteError, RollbackError, again
from ferry.mods import need, release

KEYS2 = "keys/signing-keys-2.note"
KEYS1 = "keys/signing-keys.note"
ROOT_MAX = 8192  # bytes of one root.pub
POINTER_ROLES = ("release", "refresh")  # the roles whose keys sign channel pointers


def step():
    # The end of a step: the caller collects garbage; what the step loaded
    # goes before the next (this module stays until the chain is done).
    yield
    release(("chain",))


def ptr_path(c):
    return "channels/%s.note" % c.channel


def installed(rec):
    # What trust.check_pointer compares a pointer with.
    if not rec:
        return None
    return rec.get("channel"), rec["sequence"], unhexlify(rec["manifest"]), rec["version"]


def pointer(cy, rec):
    # Steps; returns (ptr, keys): the verified pointer (a new one, or the
    # cached one checked again for expiry and rollback), and the signing
    # keys (plain: signing_keys()) when they were verified here, else None.
    c, p = cy.cfg, cy.poll
    path = ptr_path(c)
    cached = records.exists(c.state, POINTER) and p.get("chan") == c.channel
    r = _poll(cy, path, bool(rec and cached))
    yield from step()
    if r.status == 304:
        ptr = _checked(cy, need("text").text_of(records.read(c.state, POINTER, NOTE_MAX)), rec)
        return ptr, None
    if r.status != 200:
        raise NoteError("fetch channel pointer %s: HTTP %d" % (path, r.status))
    keys = yield from signing_keys(cy)
    ptr = yield from verify_pointer(cy, keys, r.body, rec)
    cy.pointer = r.body
    p["etag"], p["lm"], p["chan"] = r.etag, r.last_modified, c.channel
    if ptr.sequence > p.get(seen_key(c), 0):
        p[seen_key(c)] = ptr.sequence
    cy.poll_dirty = True
    return ptr, keys


def _poll(cy, path, cached):
    c, p = cy.cfg, cy.poll
    if c.github is not None:
        r = need("github").poll(cy, cached)
        if r is not None:
            return r
    try:
        return Got(need("fetch").small(cy.url(path), NOTE_MAX, etag=p.get("etag") if cached else None,
                                       since=p.get("lm") if cached else None, cfg=c, feed=cy.feed))
    except Exception as e:
        raise again(e, "fetch channel pointer %s: " % path)


def verify_pointer(cy, keys, msg, rec):
    # Steps: the signature of the pointer note msg (keys of role release or
    # refresh), then its text parsed and checked; returns the pointer.
    text = verify(msg, keys[3], 1, ptr_path(cy.cfg), cy.feed, POINTER_ROLES)
    yield from step()
    return _checked(cy, text, rec)


def _checked(cy, text, rec):
    # The verified pointer text parsed and checked: channel, expiry,
    # rollback against the installed release and the highest sequence seen.
    c = cy.cfg
    path = ptr_path(c)
    ptr = need("trust").pointer_of(text, c.channel, cy.at(), installed(rec), path)
    seen = cy.poll.get(seen_key(c), 0)
    if ptr.sequence < seen:
        raise RollbackError("%s offers %s (sequence %d), older than sequence %d already seen"
                            % (path, ptr.version, ptr.sequence, seen))
    return ptr


def seen_key(c):
    # The highest sequence seen is kept for each channel.
    return "seq " + c.channel


def verify(msg, keys, threshold, what, feed, roles=None):
    # The text of the signed note msg (bytes) verified with keys (plain
    # tuples; only those with one of roles, when given); errors say what.
    note = need("note")
    try:
        return note.open_note(msg, note.keys_of(keys, roles), threshold, feed)[0]
    except NoteError as e:
        raise type(e)("%s: %s" % (what, e.args[0]))


def roots(cy):
    # The pinned root keys (plain tuples) and the threshold.
    c = cy.cfg
    data = b""
    for path in c.root_keys:
        d = fs.read_small(path, ROOT_MAX)
        if d is None:
            raise NoteError("root_keys: %s not found: copy the publisher's keys/root.pub there" % path)
        data += d + b"\n"
    keys, threshold = need("trust").parse_root(data, c.root_threshold, cy.log)
    return [(k.name, k.hash, k.pub, k.roles) for k in keys.list], threshold


def signing_keys(cy):
    # Steps; returns the verified signing-key list as plain values
    # (format, version, expires, [(name, hash, pub, roles)]): fetched
    # (or the cached copy, unchanged: 304), then its signature against the
    # root keys, then its text parsed and its version checked.
    p = cy.poll
    r, path, body = _fetch_keys(cy)
    yield from step()
    rk, threshold = roots(cy)
    yield from step()
    try:
        text = verify(body, rk, threshold, "signing-key list", cy.feed)
    except NoteError as e:
        hint = " (is root_keys the root.pub of this origin's publisher?)" if e.code in ("untrusted", "bad-signature") else ""
        raise type(e)("%s: %s%s" % (path, e.args[0], hint))
    yield from step()
    kl = _key_list(cy, path, text)
    if r.status == 200:
        cy.keys_note = body
        p["ketag"], p["kfmt"] = r.etag, kl[0]
        cy.poll_dirty = True
    yield from step()
    return kl


def _fetch_keys(cy):
    # (answer, origin path, body) of the signing-key list: format 2, or
    # format 1 when it is absent and this board never trusted a format-2
    # list; a 304 answers with the cached copy.
    c, p = cy.cfg, cy.poll
    fmt = p.get("kfmt", 0)
    cached = records.exists(c.state, KEYS)
    path = KEYS2
    r = _get_keys(cy, path, p.get("ketag") if fmt == 2 and cached else None)
    if r.status == 404:
        if p.get("kver") is not None:
            raise RollbackError("%s is missing, but this board trusts a format-2 list (version %d): "
                                "format 1 is refused" % (KEYS2, p["kver"]))
        path = KEYS1
        r = _get_keys(cy, path, p.get("ketag") if fmt == 1 and cached else None)
    if r.status == 304:
        return r, path, records.read(c.state, KEYS, NOTE_MAX)
    if r.status == 200:
        return r, path, r.body
    raise NoteError("fetch signing keys %s: HTTP %d" % (path, r.status))


def _key_list(cy, path, text):
    # The verified list's text parsed, its version checked against the
    # highest this board verified (and recorded when higher).
    p = cy.poll
    ksha = p.get("ksha")
    try:
        kl, sha = need("trust").key_list_of(text, cy.at(), p.get("kver"), unhexlify(ksha) if ksha else None)
    except NoteError as e:
        raise type(e)("%s: %s" % (path, e.args[0]))
    if kl.format == 2 and (p.get("kver") is None or kl.version > p["kver"]):
        from binascii import hexlify
        p["kver"], p["ksha"] = kl.version, hexlify(sha).decode()
        cy.poll_dirty = True
    return kl.format, kl.version, kl.expires, [(k.name, k.hash, k.pub, k.roles) for k in kl.keys]


def _get_keys(cy, path, etag):
    try:
        return Got(need("fetch").small(cy.url(path), NOTE_MAX, etag=etag, cfg=cy.cfg, feed=cy.feed))
    except Exception as e:
        raise again(e, "fetch signing keys %s: " % path)


class Got:
    # fetch.small's answer, copied out so that fetch.py can be released.
    def __init__(self, r):
        self.status, self.body, self.etag, self.last_modified = r.status, r.body, r.etag, r.last_modified
