# ferry/text.py: the byte-level checks a signed note and a manifest share
# (note.py re-exports them): UTF-8 validity, streaming, and where a note
# file's text ends. Apart from note.py so that reading a verified manifest
# (manifest.py, cycle.py's plan) does not load the signature code.

from ferry.errors import FormatError


class Text:
    # Streaming check that bytes are UTF-8 (Go's rules: no overlong forms,
    # no surrogates, nothing above U+10FFFF) with no control character but
    # '\n' when ctl is set.

    def __init__(self, ctl=True):
        self.need = 0
        self.lo = 0x80
        self.hi = 0xBF
        self.ok = True
        self.ctl = ctl

    def update(self, b):
        need, lo, hi, ok, ctl = self.need, self.lo, self.hi, self.ok, self.ctl
        for c in b:
            if need:
                if c < lo or c > hi:
                    ok = False
                    break
                need -= 1
                lo, hi = 0x80, 0xBF
            elif c < 0x80:
                if ctl and c < 0x20 and c != 10:
                    ok = False
                    break
            elif 0xC2 <= c <= 0xDF:
                need = 1
            elif 0xE0 <= c <= 0xEF:
                need = 2
                if c == 0xE0:
                    lo = 0xA0
                elif c == 0xED:
                    hi = 0x9F
            elif 0xF0 <= c <= 0xF4:
                need = 3
                if c == 0xF0:
                    lo = 0x90
                elif c == 0xF4:
                    hi = 0x8F
            else:
                ok = False
                break
        self.need, self.lo, self.hi, self.ok = need, lo, hi, ok

    def valid(self):
        return self.ok and not self.need


def utf8_ok(b, ctl=False):
    t = Text(ctl)
    t.update(b)
    return t.valid()


def size(f):
    f.seek(0, 2)
    n = f.tell()
    f.seek(0)
    return n


def find_split(f, size, buf):
    # The offset of the last "\n\n" in f, scanning backwards; -1 if none.
    pos = size
    after = None  # the byte at pos
    mv = memoryview(buf)
    while pos > 0:
        start = max(0, pos - len(buf))
        f.seek(start)
        n = f.readinto(mv[:pos - start])
        if n != pos - start:
            raise FormatError("signed note: file shrank while read")
        if after == 10 and buf[n - 1] == 10:
            return pos - 1
        i = bytes(mv[:n]).rfind(b"\n\n")
        if i >= 0:
            return start + i
        after = buf[0]
        pos = start
    return -1


def text_of(msg):
    # The text of a note verified before (trust.NoteText).
    i = msg.rfind(b"\n\n")
    if i < 0:
        raise FormatError("not a signed note")
    return msg[:i + 1]
