# ferry/vkey.py: verifier keys as golang.org/x/mod/sumdb/note writes them
# ("NAME+HASH8+BASE64(0x01 || 32-byte Ed25519 key)"), parsed, and sets of
# them (Keys). note.py verifies signed notes with them; trust.py parses
# root.pub and signing-key lists into them without loading note.py's
# signature code.
import hashlib

from ferry.errors import FormatError
from ferry.notefmt import SPACES, b64decode, utf8_ok, valid_name  # noqa: F401 (the API's)


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
