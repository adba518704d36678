# Ferry's chain of trust on a board, as the Linux agent has it (Go's
# internal/trust, internal/keys, internal/update): pinned root keys
# (root.pub, "# threshold T" a floor) -> signing-key list (format 2 with
# version and roles, or format 1) -> channel pointer -> manifest.
#
# Every refusal is an exception with a one-line message and a .code:
#   format (note.FormatError, manifest.FormatError/VersionError), untrusted,
#   bad-signature, expired (freeze), rollback, mismatch.
#
# The signed-note code (note.py, which loads Ed25519 and SHA-512 for a
# signature check) and the verifier-key parser (vkey.py) are imported by the
# functions that need them only: parsing a verified pointer needs neither
# (chain.py checks signatures and parses in separate steps).
from ferry import header
from ferry.errors import FormatError, UntrustedError, NoteError  # noqa: F401 (the API's)
from ferry.errors import ExpiredError, RollbackError, MismatchError  # noqa: F401 (the API's)


MAX_NOTE = 64 << 10  # trust.MaxNoteSize: key lists and pointers
ROLE_RELEASE = "release"
ROLE_REFRESH = "refresh"
_WS = b" \t\n\v\f\r"


def _trim(b):
    # strings.TrimSpace: white space as unicode.IsSpace, both ends.
    from ferry import vkey
    while b:
        if b[0] in _WS:
            b = b[1:]
        elif b[-1] in _WS:
            b = b[:-1]
        else:
            for sp in vkey.SPACES:
                if b.startswith(sp):
                    b = b[len(sp):]
                    break
                if b.endswith(sp):
                    b = b[:-len(sp)]
                    break
            else:
                return b
    return b


def parse_verifiers(data, what="verifier keys"):
    """trust.ParseVerifiers: one key a line, blank and '#' lines skipped."""
    from ferry import vkey
    keys = vkey.Keys()
    for i, l in enumerate(data.split(b"\n")):
        l = _trim(l)
        if not l or l[0] == 35:
            continue
        try:
            keys.add(vkey.parse_key(l))
        except FormatError as e:
            raise FormatError("%s: line %d: %s" % (what, i + 1, e.args[0]))
    if not len(keys):
        raise FormatError("%s: no verifier keys" % what)
    return keys


def parse_root(data, config_threshold=1, log=None):
    """root.pub: returns (keys, threshold). The file's "# threshold T" is a
    floor: the threshold is max(T, config_threshold); log(msg) is called
    once when the config's value is raised."""
    keys = parse_verifiers(data, "root.pub")
    t = None
    for l in data.split(b"\n"):
        l = _trim(l)
        if l.startswith(b"# threshold "):
            t = header.parse_int(l[12:])
            if t is None or t < 1:
                raise FormatError("root.pub: threshold %r" % l[12:])
    if t is not None and t > config_threshold:
        if log:
            log("root_threshold %d raised to %d, the threshold root.pub names" % (config_threshold, t))
        return keys, t
    return keys, max(1, config_threshold)


def _expired(what, exp, now, fix):
    if now is not None and now > exp:
        raise ExpiredError("%s expired %s: %s" % (what, fmt_time(exp), fix))


def fmt_time(t):
    """Unix seconds as RFC 3339 UTC."""
    d, s = divmod(t, 86400)
    # civil_from_days
    z = d + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, day, s // 3600, s // 60 % 60, s % 60)


class KeyList:
    # A verified signing-key list: format (1 or 2), version (0 for format
    # 1), expires (unix seconds), keys (note.Key with .roles).

    def __init__(self, fmt, version, expires, keys):
        self.format, self.version, self.expires, self.keys = fmt, version, expires, keys

    def verifiers(self, role):
        """The keys that may sign documents of a role: release for
        manifests; release or refresh for channel pointers."""
        from ferry import vkey
        want = (ROLE_RELEASE,) if role == ROLE_RELEASE else (ROLE_RELEASE, ROLE_REFRESH)
        return vkey.Keys([k for k in self.keys if any(r in want for r in k.roles)])


def _list_error(msg):
    return FormatError("signing-key list: " + msg)


def parse_key_list(text, now=None):
    """Parse a verified signing-key list text, format 1 or 2 (as formats.md
    and trust.OpenBundle), refusing one past its expiry at now."""
    from ferry import vkey
    lines = (text[:-1] if text.endswith(b"\n") else text).split(b"\n")
    if lines[0] == b"ferry-signing-keys 1":
        return _parse_v1(lines, now)
    if lines[0] != b"ferry-signing-keys 2":
        raise _list_error("first line %r, want \"ferry-signing-keys 2\"" % lines[0][:40])
    if len(lines) < 3 or not lines[1].startswith(b"expires ") or not lines[2].startswith(b"version "):
        raise _list_error("want the lines \"expires T\" and \"version N\" after the first")
    exp = _list_expiry(lines[1][8:], now)
    ver = header.parse_uint(lines[2][8:])
    if ver is None or ver < 1:
        raise _list_error("version %r is not a number from 1" % lines[2][8:40])
    keys = []
    for i, l in enumerate(lines[3:]):
        if not l.startswith(b"key "):
            raise _list_error("line %d: %r is not \"key VERIFIER-KEY [ROLES]\"" % (i + 4, l[:40]))
        vk, sp, roles = l[4:].partition(b" ")
        rl = roles.split(b",") if sp else [b"release"]
        if any(not r or b" " in r for r in rl):
            raise _list_error("line %d: roles %r: want one space and ROLE,ROLE" % (i + 4, roles[:40]))
        try:
            k = vkey.parse_key(vk)
        except FormatError as e:
            raise _list_error("line %d: %s" % (i + 4, e.args[0]))
        # A role that is not UTF-8 is one this reader does not know.
        k.roles = [r.decode() if vkey.utf8_ok(r) else "?" for r in rl]
        keys.append(k)
    if not keys:
        raise _list_error("no keys")
    return KeyList(2, ver, exp, keys)


def _list_expiry(v, now):
    t = header.parse_time(v)
    if t is None:
        raise _list_error("expires %r is not an RFC 3339 time" % v[:40])
    _expired("signing-key list", t[0], now, "publish a new one with `ferry keys rotate`")
    return t[0]


def _parse_v1(lines, now):
    if len(lines) < 2 or not lines[1].startswith(b"expires "):
        raise _list_error("no expires line")
    exp = _list_expiry(lines[1][8:], now)
    vk = []
    for i, l in enumerate(lines[2:]):
        if not l.startswith(b"key "):
            raise _list_error("line %d: %r is not \"key VERIFIER-KEY\"" % (i + 3, l[:40]))
        vk.append(l[4:])
    keys = parse_verifiers(b"\n".join(vk), "signing-key list")
    for k in keys.list:
        k.roles = [ROLE_RELEASE]
    return KeyList(1, 0, exp, keys.list)


def open_key_list(msg, roots, threshold, now=None, trusted_version=None, trusted_sha=None, feed=None):
    """Verify a signing-key list note (bytes) against the root keys and the
    device's record: trusted_version/trusted_sha of the highest format-2
    list it verified (None: never). Returns (KeyList, SHA-256 of the list's
    text: a list re-signed by more root keys is the same list)."""
    from ferry import note
    if len(msg) > MAX_NOTE:
        raise FormatError("signing-key list is %d bytes, limit %d" % (len(msg), MAX_NOTE))
    try:
        text, _ = note.open_note(msg, roots, threshold, feed)
    except NoteError as e:
        raise type(e)("signing-key list: " + e.args[0])
    return key_list_of(text, now, trusted_version, trusted_sha)


def key_list_of(text, now=None, trusted_version=None, trusted_sha=None):
    """open_key_list's checks of the text of a verified signing-key list:
    returns (KeyList, SHA-256 of the text)."""
    import hashlib
    kl = parse_key_list(text, now)
    sha = hashlib.sha256(text).digest()
    check_list_version(kl, sha, trusted_version, trusted_sha)
    return kl, sha


def check_list_version(kl, sha, trusted_version, trusted_sha):
    """The rollback rules of format 2 (formats.md)."""
    if trusted_version is None:
        return
    if kl.format == 1:
        raise RollbackError("signing-key list format 1 refused: a format-2 list (version %d) was verified before" % trusted_version)
    if kl.version < trusted_version:
        raise RollbackError("signing-key list version %d is older than %d already trusted" % (kl.version, trusted_version))
    if kl.version == trusted_version and trusted_sha is not None and sha != trusted_sha:
        raise RollbackError("signing-key list version %d differs from the one already trusted under that version" % kl.version)


class Pointer:
    # A channel pointer (Go's manifest.Pointer): channel, version (str),
    # sequence, manifest (32-byte SHA-256), manifest_size, expires (unix
    # seconds), rollout, keys ((version, sha256) of the format-2 signing-key
    # list the header names, or None: parsed, not used) and rollout_doc (True:
    # the channel's rollout document governs the stage, rollout.py).
    pass


def parse_pointer(text):
    """manifest.ParsePointer: raises manifest.FormatError/VersionError."""
    if not text or text[-1] != 10:
        raise header.FormatError("channel pointer does not end with a newline")
    h = header.Header(b"ferry-channel")
    for l in text[:-1].split(b"\n"):
        h.add(l)
    p = Pointer()
    p.channel = h.get(b"channel", "s")
    p.version = h.get(b"version", "s")
    p.sequence = h.get(b"sequence", "u")
    p.manifest = h.get(b"manifest", "d")
    p.manifest_size = h.get(b"manifest-size", "i")
    p.expires = h.expires()
    p.rollout = h.get(b"rollout", "i")
    p.channel = header.check_name("channel", p.channel)
    p.version = header.check_name("version", p.version)
    if p.rollout < 0 or p.rollout > 100:
        raise header.FormatError("rollout %d is not a percentage from 0 to 100" % p.rollout)
    if p.manifest_size <= 0:
        raise header.FormatError("manifest-size %d" % p.manifest_size)
    p.keys = _keys_ref(h)
    rd = h.values.get(b"rollout-doc", b"0")
    if rd not in (b"0", b"1"):
        raise header.FormatError("line %d: rollout-doc %r: want 0 or 1" % (h.lines[b"rollout-doc"], rd[:40]))
    p.rollout_doc = rd == b"1"
    return p


def _keys_ref(h):
    # The optional "keys <version> <sha256-hex>" line (manifest.KeysRef):
    # (version, 32-byte digest), or None.
    v = h.values.get(b"keys")
    if v is None:
        return None
    ver, sp, sha = v.partition(b" ")
    n, d = header.parse_uint(ver), header.parse_digest(sha, 32)
    if not sp or n is None or n < 1 or d is None:
        raise header.FormatError("line %d: keys %r: want \"<version> <sha256-hex>\", version >= 1" % (h.lines[b"keys"], v[:80]))
    return n, d


def open_pointer(msg, key_list, channel, now=None, installed=None, path="channel pointer", feed=None):
    """Verify a channel pointer note against the signing keys with role
    release or refresh, parse it and check it as update.fetchPointer does:
    installed is None or (channel, sequence, manifest sha256, version)."""
    from ferry import note
    if len(msg) > MAX_NOTE:
        raise FormatError("%s is %d bytes, limit %d" % (path, len(msg), MAX_NOTE))
    try:
        text, _ = note.open_note(msg, key_list.verifiers(ROLE_REFRESH), 1, feed)
    except NoteError as e:
        raise type(e)("%s: %s" % (path, e.args[0]))
    return pointer_of(text, channel, now, installed, path)


def pointer_of(text, channel, now=None, installed=None, path="channel pointer"):
    """open_pointer's parse and checks of the text of a verified pointer."""
    try:
        p = parse_pointer(text)
    except (NoteError, header.ManifestError) as e:
        raise type(e)("%s: %s" % (path, e.args[0]))
    check_pointer(p, channel, now, installed, path)
    return p


def check_pointer(p, channel, now=None, installed=None, path="channel pointer"):
    """Channel, freeze and rollback checks of a parsed pointer."""
    if p.channel != channel:
        raise MismatchError("%s names channel %r, configured is %r" % (path, p.channel, channel))
    _expired(path, p.expires, now, "the origin serves stale metadata; the publisher must re-sign the channel")
    if installed is None:
        return
    ich, iseq, isha, iver = installed
    if p.sequence < iseq:
        raise RollbackError("%s offers %s (sequence %d), older than the installed %s (sequence %d)" % (path, p.version, p.sequence, iver, iseq))
    if p.sequence == iseq and p.manifest != isha and ich == p.channel:
        raise MismatchError("%s offers a different manifest under the installed sequence %d" % (path, p.sequence))


def check_manifest(m, p, now=None, path="manifest"):
    """A manifest (manifest.Manifest header) against its pointer."""
    if (m.channel, m.version, m.sequence) != (p.channel, p.version, p.sequence):
        raise MismatchError("%s is %s %s #%d, the pointer says %s %s #%d" % (
            path, m.channel, m.version, m.sequence, p.channel, p.version, p.sequence))
    _expired(path, m.expires, now, "the publisher must re-sign the release")


def open_manifest_file(f, key_list, pointer, feed=None, buf=None):
    """Verify the signed manifest note in the open file f: its size and
    SHA-256 must be the pointer's, and a key with role release must have
    signed it. Returns the text size (for manifest.Manifest)."""
    from ferry import note
    return note.open_manifest(f, key_list.verifiers(ROLE_RELEASE), pointer, feed, buf)
