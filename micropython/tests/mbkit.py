# mbkit.py: a small encoder of update bundles (format: internal/mbundle's
# doc) for the MicroPython tests: each changed file as a copy of the prefix
# and suffix it shares with its old content and a literal between, the note
# likewise against the old note, with 'H' for the changed files' digests.
# The port's deflate compresses with the board's window.
import io
import hashlib
import deflate
from binascii import hexlify


def sha(b):
    return hashlib.sha256(b).digest()


def hx(b):
    return hexlify(b).decode()


def uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zz(v):
    return uv((v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1)


def zlib(b):
    o = io.BytesIO()
    d = deflate.DeflateIO(o, deflate.ZLIB, 11)
    d.write(b)
    d.close()
    return o.getvalue()


def commands(new, old, pos=0):
    # A common prefix and suffix copied from old (offsets relative to the
    # output position), the rest literal.
    a = 0
    while a < len(new) and a < len(old) and new[a] == old[a]:
        a += 1
    b = 0
    while b < len(new) - a and b < len(old) - a and new[-1 - b] == old[-1 - b]:
        b += 1
    out = b""
    if a:
        out += b"C" + zz(0 - pos) + uv(a)
    if len(new) - a - b:
        out += b"L" + uv(len(new) - a - b) + new[a:len(new) - b]
    if b:
        out += b"C" + zz((len(old) - b) - (pos + len(new) - b)) + uv(b)
    return out


def bundle(old_note, new_note, old, new):
    # The commands of a bundle from old to new (path -> content): changed
    # files with their old file at the same path as base.
    changed = [p for p in sorted(new) if old.get(p) != new[p]]
    out = b"FMB1" + uv(len(changed))
    for p in changed:
        ref = 0
        if p in old:  # the start of the old file's line in the old note
            i = old_note.find((" %s %s\n" % (hx(sha(old[p])), p)).encode())
            ref = old_note.rfind(b"\n", 0, i) + 2
        out += uv(ref) + uv(len(new[p])) + commands(new[p], old.get(p, b"")) + b"E"
    pos = 0
    for p in changed:
        d = new_note.find(hx(sha(new[p])).encode())
        out += commands(new_note[pos:d], old_note, pos) + b"H"
        pos = d + 64
    return out + commands(new_note[pos:], old_note, pos) + b"E"
