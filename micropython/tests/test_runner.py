# test_runner.py: the facts of the runner's MicroPython that the package
# relies on (the port's modules), so that a runner upgrade that drops one
# fails here first.
import sys
import hashlib
import deflate
import io

assert sys.implementation.name == "micropython", sys.implementation
h = hashlib.sha256(b"abc").digest()
assert h[:4] == b"\xba\x78\x16\xbf", h
# A zlib stream with a 1 KiB window (what `ferry release --for micropython` writes).
z = bytes.fromhex("28cf4b4c4a0600024d0127")  # zlib, wbits=10, of b"abc"
d = deflate.DeflateIO(io.BytesIO(z), deflate.ZLIB, 10)
assert d.read() == b"abc"
print("runner ok", sys.version)
