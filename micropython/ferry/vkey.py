# ferry/vkey.py: verifier keys as golang.org/x/mod/sumdb/note writes them
# ("NAME+HASH8+BASE64(0x01 || 32-byte Ed25519 key)"), parsed, and sets of
# them (Keys). note.py verifies signed notes with them; trust.py parses
# root.pub and signing-key lists into them without loading note.py's
# signature code.
import hashlib

from ferry.errors import FormatError
from ferry.text import utf8_ok

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64INV = bytearray(b"\xff" * 256)
for _i in range(64):
    _B64INV[_B64[_i]] = _i


def b64decode(s):
    """Decode standard padded base64 as Go's base64.StdEncoding does
    (lenient about unused trailing bits, '\r' and '\n' skipped); None when
    it is not base64."""
    if 10 in s or 13 in s:
        s = bytes(s).replace(b"\r", b"").replace(b"\n", b"")
    n = len(s)
    if n % 4:
        return None
    pad = 0
    if n and s[n - 1] == 61:  # '='
        pad = 2 if s[n - 2] == 61 else 1
    out = bytearray()
    inv = _B64INV
    for i in range(0, n, 4):
        last = i + 4 == n
        v = 0
        for j in range(4):
            c = s[i + j]
            if last and j >= 4 - pad:
                c = 0
                x = 0
            else:
                x = inv[c]
                if x == 255:
                    return None
            v = (v << 6) | x
        out.append(v >> 16)
        if not (last and pad == 2):
            out.append((v >> 8) & 255)
        if not (last and pad):
            out.append(v & 255)
    return bytes(out)


# White space as Go's unicode.IsSpace beyond ASCII, encoded.
SPACES = (b"\xc2\x85", b"\xc2\xa0", b"\xe1\x9a\x80", b"\xe2\x80\xa8", b"\xe2\x80\xa9",
          b"\xe2\x80\xaf", b"\xe2\x81\x9f", b"\xe3\x80\x80") + tuple(
              b"\xe2\x80" + bytes([c]) for c in range(0x80, 0x8B))  # U+2000..U+200A


def valid_name(name):
    """note's isValidName: non-empty UTF-8 with no white space and no '+'."""
    if not name or not utf8_ok(name) or b"+" in name:
        return False
    for c in name:
        if c in b" \t\n\v\f\r":
            return False
    for s in SPACES:
        if s in name:
            return False
    return True


def key_hash(name, key):
    h = hashlib.sha256(name)
    h.update(b"\n")
    h.update(key)
    return int.from_bytes(h.digest()[:4], "big")


class Key:
    # A verifier key "NAME+HASH8+BASE64(0x01 || 32-byte Ed25519 key)".

    def __init__(self, name, hash_, pub, roles=None):
        self.name, self.hash, self.pub, self.roles = name, hash_, pub, roles

    def id(self):
        return "%s+%08x" % (self.name.decode(), self.hash)


def parse_key(text):
    """Parse a verifier key as note.NewVerifier; raises FormatError."""
    if isinstance(text, str):
        text = text.encode()
    name, _, rest = text.partition(b"+")
    h16, _, k64 = rest.partition(b"+")
    key = b64decode(k64)
    hv = None
    if len(h16) == 8 and all(c in b"0123456789abcdefABCDEF" for c in h16):
        hv = int(bytes(h16).decode(), 16)
    if hv is None or key is None or not valid_name(name) or not key:
        raise FormatError("verifier key %r: malformed (want NAME+HASH+BASE64)" % text[:80])
    if hv != key_hash(name, key):
        raise FormatError("verifier key %r: the key hash does not match the key" % text[:80])
    if key[0] != 1:
        raise FormatError("verifier key %r: unknown algorithm %d (want 1, Ed25519)" % (text[:80], key[0]))
    if len(key) != 33:
        raise FormatError("verifier key %r: malformed (Ed25519 key is not 32 bytes)" % text[:80])
    return Key(name, hv, key[1:])


class Keys:
    # A set of trusted verifier keys, looked up by (name, key hash).

    def __init__(self, keys=()):
        self._m = {}
        self.names = []
        self.list = []
        for k in keys:
            self.add(k)

    def add(self, k):
        ident = (k.name, k.hash)
        self._m[ident] = None if ident in self._m else k  # None: ambiguous
        self.names.append(k.id())
        self.list.append(k)

    def lookup(self, name, hash_):
        """(found, key); key None when two keys share the name and hash."""
        if (name, hash_) not in self._m:
            return False, None
        return True, self._m[(name, hash_)]

    def __len__(self):
        return len(self.names)


def keys_of(keys, roles=None):
    # Keys from plain tuples (name, hash, pub, roles): those with one of
    # roles, or all when roles is None.
    return Keys([Key(*k) for k in keys if roles is None or any(r in roles for r in k[3])])
