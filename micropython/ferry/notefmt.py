# ferry/notefmt.py: what a signed note's signature lines and a verifier key
# ("NAME+HASH8+BASE64") share: Go's standard base64 and note's key names.
# Apart from vkey.py so that a signature check (note.py) holds no key
# parser: the chain hands it keys already parsed, as plain tuples.

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
