# http_hostile.py: ferry/http.py against malformed and mutated responses
# from a Go server, driven by internal/mpyrun's TestHTTPHostileResponses:
#   http_hostile.py BASE_URL N     (BASE_URL/<i> serves response i)
# Each exchange must succeed or fail with HTTPError or OSError: any other
# exception would crash the update loop on a board.
import sys
from ferry import http

BASE, N = sys.argv[1], int(sys.argv[2])
ok = failed = 0
buf = bytearray(256)
for i in range(N):
    try:
        r = http.get("%s/%d" % (BASE, i), limit=4096, timeout=2, connect_timeout=2)
        try:
            while r.readinto(buf):
                pass
        finally:
            r.close()
        ok += 1
    except (http.HTTPError, OSError) as e:
        assert i != 0, "the well-formed response 0 was refused: %r" % e
        failed += 1
    except Exception as e:
        raise AssertionError("response %d: %r" % (i, e))
assert ok >= 1, "not even the good response was read"
print("http_hostile ok: %d read, %d refused" % (ok, failed))
