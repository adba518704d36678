# ferry/rollout.py: the channel's rollout document on a board (issue #16),
# as the Linux agent's internal/update/rollout.go.
#
# A channel pointer with the header "rollout-doc 1" says that the fleet
# service governs the stage of its release: rollouts/<channel>.note, a
# "ferry-rollout 1" document (internal/manifest, RolloutDoc) signed by a key
# whose role in the format-2 signing-key list is rollout:<channel> and by no
# other (no release or refresh key can sign one). The board fetches it
# conditionally (If-None-Match, or If-Modified-Since when the origin sends
# no ETag: the validator and the verified note are kept in
# <state>/rollout.json, written only when they change, so most polls cost
# one body-less 304) and, for a release it does not hold yet:
#
#  - halted: not taken ("halted by the fleet: <reason>");
#  - missing (404), refused (untrusted, bad signature, malformed), expired,
#    or naming another release (channel, version or manifest SHA-256):
#    deferred, never taken (fail safe);
#  - else its percent replaces the pointer's for the canary check (admit).
#
# A document issued before the one held for the same release (a replay) is
# ignored for the one held.

from ferry import header
from ferry import records
from ferry.errors import ManifestError, NoteError, again

PATH = "rollouts/%s.note"
CACHE = "rollout.json"  # {"etag": ..., "lm": Last-Modified without an ETag, "doc": the verified signed note}
NOTE_MAX = 16384


class Doc:
    # A parsed rollout document: channel, version (str), sequence, manifest
    # (32 bytes), percent, halted (bool), reason (str), issued and expires
    # (unix seconds).
    pass


def parse(text):
    """manifest.ParseRolloutDoc: raises manifest.FormatError/VersionError."""
    if not text or text[-1] != 10:
        raise header.FormatError("rollout document does not end with a newline")
    h = header.Header(b"ferry-rollout")
    for l in text[:-1].split(b"\n"):
        h.add(l)
    d = Doc()
    d.channel = header.check_name("channel", h.get(b"channel", "s"))
    d.version = header.check_name("version", h.get(b"version", "s"))
    d.sequence = h.get(b"sequence", "u")
    d.manifest = h.get(b"manifest", "d")
    d.percent = h.get(b"percent", "i")
    halted = h.get(b"halted", "i")
    d.issued = h.get(b"issued", "t")
    d.expires = h.expires()
    if halted not in (0, 1):
        raise header.FormatError("line %d: halted %d: want 0 or 1" % (h.lines[b"halted"], halted))
    d.halted = halted == 1
    reason = h.values.get(b"reason", b"")
    d.reason = reason.decode() if header.utf8_ok(reason) else repr(reason)
    if d.percent < 0 or d.percent > 100:
        raise header.FormatError("percent %d is not a percentage from 0 to 100" % d.percent)
    if d.issued == (header._ZERO_TIME, 0) or h.get(b"expires", "t") < d.issued:
        raise header.FormatError("issued must be a time before expires")
    if b"\r" in reason:
        raise header.FormatError("reason must be one line")
    d.issued = d.issued[0]
    return d


def role(channel):
    """The role of the keys that may sign channel's rollout document."""
    return "rollout:" + channel


def open_doc(msg, key_list, channel, feed=None):
    """Verify a rollout document note with the keys of role rollout:<channel>
    of key_list (a trust.KeyList) only, and parse it."""
    from ferry import note
    if len(msg) > NOTE_MAX:
        raise note.FormatError("rollout document is %d bytes, limit %d" % (len(msg), NOTE_MAX))
    want = role(channel)
    keys = note.Keys([k for k in key_list.keys if want in k.roles])
    try:
        text, _ = note.open_note(msg, keys, 1, feed)
    except note.UntrustedError as e:
        raise note.UntrustedError("%s (only keys of role %s sign it)" % (e.args[0], want))
    return parse(text)


def _cached(state):
    c = records.read_json(state, CACHE) or {}
    try:
        from ferry import note
        return c, parse(note.text_of(c["doc"].encode()))
    except Exception:
        return c, None  # a cache: start afresh


def gate(cyc, ptr, keys):
    """Apply the channel's rollout document to the verified pointer ptr
    (rollout-doc 1) for the Cycle cyc: returns (why, keys) where why is ""
    when the release may go to the canary check, with ptr.rollout set to
    the document's percent, else why it is not taken now; keys is the
    signing-key list (signing_keys()'s plain copy) when it was fetched here
    or given, else None."""
    c = cyc.cfg
    path = PATH % c.channel
    doc, keys, why = _fetch(cyc, path, keys)
    if why:
        return why, keys
    if doc.channel != c.channel or doc.manifest != ptr.manifest or doc.version != ptr.version:
        return ("rollout document %s names %s %s, the channel offers %s: waiting for the fleet service"
                % (path, doc.channel, doc.version, ptr.version)), keys
    if cyc.at() > doc.expires:
        return "rollout document %s expired %s: waiting for the fleet service" % (path, _iso(doc.expires)), keys
    if doc.halted:
        return "halted by the fleet: %s" % doc.reason, keys
    ptr.rollout = doc.percent
    return "", keys


def _fetch(cyc, path, keys):
    # (doc, keys, why): the document to judge, or why there is none.
    from ferry import fetch
    c = cyc.cfg
    cache, held = _cached(c.state)
    try:
        r = fetch.small(cyc.url(path), NOTE_MAX, etag=cache.get("etag") if held else None,
                        since=cache.get("lm") if held else None, cfg=c, feed=cyc.feed)
    except Exception as e:
        raise again(e, "fetch rollout document %s: " % path)
    status, body, etag, lm = r.status, r.body, r.etag, r.last_modified
    r = None
    if status == 304 and held is not None:
        return held, keys, ""
    if status == 404:
        return None, keys, "no rollout document %s: waiting for the fleet service" % path
    if status != 200:
        raise NoteError("fetch rollout document %s: HTTP %d" % (path, status))
    if keys is None:
        keys = cyc.signing_keys()
    try:
        doc = open_doc(body, cyc.key_list(keys), c.channel, cyc.feed)
    except (NoteError, ManifestError) as e:
        return None, keys, "rollout document %s refused: %s" % (path, e.args[0])
    if held is not None and held.manifest == doc.manifest and doc.issued < held.issued:
        cyc.log("ignoring a rollout document issued %s, before the one held (%s)" % (_iso(doc.issued), _iso(held.issued)))
        return held, keys, ""
    records.write_json(c.state, CACHE, {"etag": etag, "lm": lm, "doc": body.decode()})
    return doc, keys, ""


def _iso(t):
    from ferry import trust
    return trust.fmt_time(t)

