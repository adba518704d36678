# inflate_file.py: decodes a zlib file with the board's window
# (ferry.fetch.WBITS) and prints its size and SHA-256, or "error: ..."; driven
# by internal/mpyrun's TestZlibWindow:  inflate_file.py FILE.z
import sys, deflate, hashlib
from binascii import hexlify
from ferry import fetch

f = open(sys.argv[1], "rb")
d = deflate.DeflateIO(f, deflate.ZLIB, fetch.WBITS)
h = hashlib.sha256()
buf = bytearray(1024)
n = 0
try:
    while True:
        k = d.readinto(buf)
        if not k:
            break
        h.update(buf[:k])
        n += k
    print(n, hexlify(h.digest()).decode())
except Exception as e:
    print("error:", repr(e))
