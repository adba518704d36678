# Signed notes (golang.org/x/mod/sumdb/note over Ed25519), parsed and
# verified exactly as note.Open and Ferry's trust.Verifiers.Verify do: the
# whole note must be UTF-8 without control characters but '\n'; the text
# ends at the last blank line; then at most 100 lines "— NAME BASE64" where
# BASE64 (standard, padded) decodes to a 4-byte key hash and the signature.
# Signatures by unknown keys are ignored; a signature by a known key that
# does not verify refuses the whole note; at least `threshold` distinct
# known keys must have signed.
#
# open_note(msg, keys, threshold) verifies a note held in memory; open_file()
# verifies one on flash: it finds the signature block at the end, parses it
# line by line, and streams the text, in a fixed buffer, through SHA-512 (one
# per signature by a known key) and SHA-256. The one difference from Go: a
# signature line longer than MAX_SIG_LINE bytes (a key name of ~900 bytes)
# is refused by open_file().
#
# The keys are plain tuples (name, hash, pub, ...), as the chain of trust
# hands them over (chain.py: parsed in the step before), or a vkey.Keys:
# a check loads no verifier-key parser (vkey.py), only the base64 and key
# names of the signature lines (notefmt.py). vkey.py's names (Key, Keys,
# parse_key, key_hash) are still note.py's API, imported when first used.
import hashlib

from ferry.errors import NoteError, FormatError, UntrustedError, BadSignatureError, MismatchError  # noqa: F401 (the API's)
from ferry.text import Text, utf8_ok, text_of, find_split as _find_split, size as _size  # noqa: F401 (the API's)
from ferry.notefmt import SPACES, b64decode, valid_name  # noqa: F401 (the API's)


MAX_SIGS = 100
MAX_SIG_LINE = 1024  # bytes of one signature line open_file() takes
_CHUNK = 512
_DASH = b"\xe2\x80\x94 "  # "— "


def __getattr__(name):
    # vkey.py's API (Key, Keys, parse_key, key_hash), loaded when used.
    from ferry import vkey
    return getattr(vkey, name)


def keys_of(keys, roles=None):
    # The plain tuples (name, hash, pub, roles) with one of roles (all when
    # roles is None).
    return [k for k in keys if roles is None or any(r in roles for r in k[3])]


def _key_id(k):
    return "%s+%08x" % (k[0].decode(), k[1])


def _plain(keys):
    # keys as a list of (name, hash, pub, the key as given): from plain
    # tuples (name, hash, pub, roles) or a vkey.Keys (its Key objects).
    if hasattr(keys, "list"):
        return [(k.name, k.hash, k.pub, k) for k in keys.list]
    return [(k[0], k[1], k[2], k) for k in keys]


def _sig_line(line, count):
    # One signature line (without '\n') as note.Open parses it: returns
    # (error, name, hash, sig); count is the number of lines before it.
    if not line.startswith(_DASH):
        return (FormatError("signed note: signature line %r does not start with an em dash" % line[:40]), None, 0, None)
    name, _, b64 = line[len(_DASH):].partition(b" ")
    sig = b64decode(b64)
    if sig is None or not valid_name(name) or not b64 or len(sig) < 5:
        return (FormatError("signed note: malformed signature line %r" % line[:60]), None, 0, None)
    if count >= MAX_SIGS:
        return (FormatError("signed note: more than %d signatures" % MAX_SIGS), None, 0, None)
    return (None, name, int.from_bytes(sig[:4], "big"), sig[4:])


def _parse_sigs(block):
    # The signature lines of a block held in memory, parsed in order.
    if not block or block[-1] != 10:
        yield (FormatError("signed note: malformed signature block"), None, 0, None)
        return
    for n, line in enumerate(block[:-1].split(b"\n")):
        yield _sig_line(line, n)


def _file_sigs(f, start, size, buf):
    # The signature lines of the block at [start, size) of file f, read
    # through buf; a line may be up to MAX_SIG_LINE bytes.
    if start >= size:
        yield (FormatError("signed note: malformed signature block"), None, 0, None)
        return
    f.seek(start)
    line = bytearray()
    n = 0
    left = size - start
    mv = memoryview(buf)
    while left:
        k = f.readinto(mv[:min(len(buf), left)])
        if not k:
            break
        left -= k
        i = 0
        while i < k:
            j = buf.find(b"\n", i, k)
            if j < 0:
                line.extend(mv[i:k])
                i = k
            else:
                line.extend(mv[i:j])
                i = j + 1
                yield _sig_line(bytes(line), n)
                n += 1
                line = bytearray()
            if len(line) > MAX_SIG_LINE:
                yield (FormatError("signed note: a signature line is longer than %d bytes" % MAX_SIG_LINE), None, 0, None)
                return
    if line or left:
        yield (FormatError("signed note: malformed signature block"), None, 0, None)


def _plan(sigs, keys):
    # Decide, in note.Open's order, which signatures to check. Returns a list
    # of steps: ("err", exc) or ("check", key, name, hash, sig); and the
    # unknown signers for the error message.
    steps, seen, unknown = [], set(), []
    known = {}
    for k in keys:
        ident = (k[0], k[1])
        known[ident] = None if ident in known else k  # None: listed twice
    for err, name, h, sig in sigs:
        if err:
            steps.append(("err", err))
            break
        if (name, h) not in known:
            if len(unknown) < 4:
                unknown.append("%s+%08x" % (name.decode(), h))
            continue
        k = known[(name, h)]
        if k is None:
            steps.append(("err", FormatError("signed note: ambiguous key %s+%08x (listed twice)" % (name.decode(), h))))
            break
        if (name, h) in seen:
            continue
        seen.add((name, h))
        steps.append(("check", k, name, h, sig))
    return steps, unknown


def drive(g, feed=None):
    """Run a generator of steps to its end, calling feed() between steps;
    returns what it returns."""
    while True:
        try:
            next(g)
        except StopIteration as e:
            return e.value
        if feed:
            feed()


def _finish(steps, verifiers, unknown, keys, threshold):
    # Run the checks in order (a generator of steps); returns the list of
    # keys that signed.
    signed = []
    for i, st in enumerate(steps):
        if st[0] == "err":
            raise st[1]
        k = st[1]
        ok = yield from verifiers[i].steps()
        if not ok:
            raise BadSignatureError("signed note: invalid signature for key %s" % _key_id(k))
        signed.append(k[3])
    if not signed:
        raise UntrustedError("signed note: signed by %s, trusted are %s" % (
            ", ".join(unknown) or "no key", ", ".join(_key_id(k) for k in keys)))
    if len(signed) < threshold:
        raise UntrustedError("signed note: %d trusted signatures, %d required" % (len(signed), threshold))
    return signed


def _verifiers(steps):
    from ferry import ed25519  # here: parsing and splitting notes need no Ed25519 code
    return [ed25519.Verifier(st[1][2], st[4]) if st[0] == "check" else None for st in steps]


def open_note(msg, keys, threshold=1, feed=None):
    """Verify a signed note held in memory; returns (text, signers)."""
    return drive(open_note_steps(msg, keys, threshold), feed)


def open_note_steps(msg, keys, threshold=1):
    """open_note as a generator of steps (one per _CHUNK bytes checked or
    hashed, and the steps of each signature check)."""
    keys = _plain(keys)
    mv = memoryview(msg)
    chk = Text(True)
    for i in range(0, len(msg), _CHUNK):
        chk.update(mv[i:i + _CHUNK])
        yield
    if not chk.valid():
        raise FormatError("signed note: not UTF-8 text without control characters")
    split = msg.rfind(b"\n\n")
    if split < 0:
        raise FormatError("signed note: no blank line before the signatures")
    text = msg[:split + 1]
    steps, unknown = _plan(_parse_sigs(msg[split + 2:]), keys)
    vs = _verifiers(steps)
    for v in vs:
        if v:
            for i in range(0, split + 1, _CHUNK):
                v.update(mv[i:min(i + _CHUNK, split + 1)])
                yield
    signed = yield from _finish(steps, vs, unknown, keys, threshold)
    return text, signed


def file_text_size(f, buf=None):
    """The size of the text of the signed note in the open file f, without
    verifying it (as text_of): only for a note verified before."""
    split = _find_split(f, _size(f), buf or bytearray(_CHUNK))
    if split < 0:
        raise FormatError("not a signed note")
    return split + 1


def open_file(f, keys, threshold=1, feed=None, buf=None, sha256=None, mismatch=None):
    """Verify the signed note in the open binary file f (read from its start
    to its end) without holding it: returns (text_size, signers, sha256 of
    the whole note). buf: an optional bytearray to read into. When sha256
    is given and the note's differs, mismatch(), an exception, is raised
    before any signature is judged (the order of Go's update)."""
    return drive(open_file_steps(f, keys, threshold, buf, sha256, mismatch), feed)


def open_file_steps(f, keys, threshold=1, buf=None, sha256=None, mismatch=None):
    """open_file as a generator of steps (one per chunk read, and the steps
    of each signature check)."""
    keys = _plain(keys)
    size = _size(f)
    if buf is None:
        buf = bytearray(_CHUNK)
    split = _find_split(f, size, buf)
    if split < 0:
        raise FormatError("signed note: no blank line before the signatures")
    text_size = split + 1
    steps, unknown = _plan(_file_sigs(f, split + 2, size, buf), keys)
    vs = _verifiers(steps)
    h = hashlib.sha256()
    chk = Text(True)
    mv = memoryview(buf)
    f.seek(0)
    pos = 0
    while pos < size:
        n = f.readinto(mv[:min(len(buf), size - pos)])
        if not n:
            raise FormatError("signed note: file shrank while read")
        part = mv[:n]
        chk.update(part)
        h.update(part)
        if pos < text_size:
            t = part[:text_size - pos] if pos + n > text_size else part
            for v in vs:
                if v:
                    v.update(t)
        pos += n
        yield
    sha = h.digest()
    if sha256 is not None and sha != sha256:
        raise mismatch() if mismatch else FormatError("signed note: not the SHA-256 expected")
    if not chk.valid():
        raise FormatError("signed note: not UTF-8 text without control characters")
    signed = yield from _finish(steps, vs, unknown, keys, threshold)
    return text_size, signed, sha


def open_manifest(f, keys, pointer, feed=None, buf=None):
    """The signed manifest note in the open file f, verified with keys
    (those of role release): its size and SHA-256 must be those the channel
    pointer names. Returns the text size (for manifest.Manifest). Here, not
    in trust.py, so that the check loads no parser (trust.open_manifest_file
    takes a trust.KeyList)."""
    size = _size(f)
    if size != pointer.manifest_size:
        raise MismatchError("manifest is %d bytes, the signed channel pointer names %d" % (size, pointer.manifest_size))

    def mismatch():
        return MismatchError("manifest does not have the SHA-256 the signed channel pointer names")

    try:
        text_size, _, _ = open_file(f, keys, 1, feed, buf, pointer.manifest, mismatch)
    except MismatchError:
        raise
    except NoteError as e:
        raise type(e)("manifest: " + e.args[0])
    return text_size
