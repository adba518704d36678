# ferry/mdhash.py: the Merkle-Damgard framing that the pure-Python SHA-1
# (sha1.py) and SHA-512 (sha512.py) share: a block buffer filled by
# update(), then the 0x80 pad and the message length in bits. A subclass
# sets block_size, digest_size, WORD (bytes of a state word), LEN (bytes of
# the length field) and compress (its block function, as a staticmethod).


class MD:
    def __init__(self, iv, data=None, w=None):
        # w: the list compress works in (its message schedule), 80 words
        # unless the subclass passes its own.
        self._h = list(iv)
        self._w = w or [0] * 80
        self._buf = bytearray(self.block_size)
        self._n = 0  # bytes in _buf
        self._len = 0  # total bytes
        if data:
            self.update(data)

    def update(self, data):
        mv = memoryview(data)
        n = len(mv)
        self._len += n
        i = 0
        buf = self._buf
        B = self.block_size
        if self._n:
            k = min(B - self._n, n)
            buf[self._n:self._n + k] = mv[:k]
            self._n += k
            i = k
            if self._n < B:
                return
            self.compress(self._h, buf, self._w)
            self._n = 0
        while n - i >= B:
            self.compress(self._h, mv[i:i + B], self._w)
            i += B
        if i < n:
            buf[:n - i] = mv[i:]
            self._n = n - i

    def digest(self):
        h = list(self._h)
        buf = bytearray(self._buf)
        B, L, W = self.block_size, self.LEN, self.WORD
        n = self._n
        buf[n] = 0x80
        for j in range(n + 1, B):
            buf[j] = 0
        if n >= B - L:
            self.compress(h, buf, self._w)
            for j in range(B):
                buf[j] = 0
        buf[B - L:B] = (self._len * 8).to_bytes(L, "big")
        self.compress(h, buf, self._w)
        out = bytearray(self.digest_size)
        for j in range(self.digest_size // W):
            out[W * j:W * j + W] = h[j].to_bytes(W, "big")
        return bytes(out)

    def hexdigest(self):
        return "".join("%02x" % x for x in self.digest())
