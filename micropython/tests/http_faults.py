# http_faults.py: ferry/http.py against a Go faultnet server, driven by
# internal/mpyrun's TestHTTPFaults:
#   http_faults.py BASE_URL CLOSED_PORT STALLED_PORT
# (a connect to STALLED_PORT hangs; -1: no such port on this system)
# BASE_URL/f/<name> serves CONTENT (ETag "v1", Content-Length, Range); the
# Go test plans one fault per path, named below.
import sys, errno, time
from ferry import http

BASE = sys.argv[1]
N = 5000
CONTENT = bytes((i * 7) % 251 for i in range(N))
checks = 0


def check(name, ok, detail=""):
    global checks
    if not ok:
        raise AssertionError("%s: %s" % (name, detail))
    checks += 1


def body(r, bufsize=700):
    out = bytearray()
    buf = bytearray(bufsize)
    while True:
        n = r.readinto(buf)
        if n == 0:
            r.close()
            return bytes(out)
        out.extend(buf[:n])


def fails(name, fn, kind, transient=None, errno_=None):
    try:
        fn()
    except Exception as e:
        check(name, isinstance(e, kind), repr(e))
        if transient is not None:
            check(name + " transient", http.transient(e) == transient, repr(e))
        if errno_ is not None:
            check(name + " errno", e.args[0] == errno_, repr(e))
        return e
    raise AssertionError(name + ": no error")


# A plain GET: status, header fields, body.
r = http.get(BASE + "/f/plain")
check("status", r.status == 200, r.status)
check("etag", r.etag == '"v1"', r.etag)
check("last-modified", r.last_modified == "Sun, 06 Nov 1994 08:49:37 GMT", r.last_modified)
check("length", r.length == N, r.length)
check("body", body(r) == CONTENT)

# Conditional GETs: If-None-Match and If-Modified-Since give 304, no body.
r = http.get(BASE + "/f/plain", {"If-None-Match": '"v1"'})
check("304 etag", r.status == 304 and r.readinto(bytearray(10)) == 0, r.status)
r.close()
r = http.get(BASE + "/f/plain", {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"})
check("304 since", r.status == 304, r.status)
r.close()

# Range: 206 with Content-Range.
r = http.get(BASE + "/f/plain", {"Range": "bytes=1000-"})
check("206", r.status == 206 and r.range_start == 1000 and r.range_total == N, (r.status, r.range_start, r.range_total))
check("206 body", body(r, 333) == CONTENT[1000:])

# Chunked transfer encoding.
r = http.get(BASE + "/chunked")
check("chunked", r.chunked and r.length == -1, (r.chunked, r.length))
check("chunked body", body(r, 100) == CONTENT)

# Redirects: absolute and relative Location; a loop is capped.
r = http.get(BASE + "/redir-abs")
check("redirect absolute", r.status == 200 and body(r) == CONTENT, r.status)
r = http.get(BASE + "/f/redir-rel")
check("redirect relative", r.status == 200 and body(r) == CONTENT, r.status)
# Credentials follow a redirect on the same host, not to another one.
tok = {"Authorization": "Bearer s3cret"}
r = http.get(BASE + "/redir-same", tok)
check("auth same host", body(r) == b"auth:Bearer s3cret")
r = http.get(BASE + "/redir-host", tok)
check("auth other host", body(r) == b"auth:")
check("headers kept", tok == {"Authorization": "Bearer s3cret"})
e = fails("redirect loop", lambda: http.get(BASE + "/f/loop"), http.HTTPError, False)
check("redirect loop message", "redirects" in str(e), str(e))
check("resolve ..", http.resolve("http://h:1/a/b?x=1", "c") == "http://h:1/a/c")
check("resolve //", http.resolve("https://h/a", "//g/x") == "https://g/x")

# Caps: a Content-Length over the limit fails at once; an endless body
# fails once it passes the limit.
fails("limit length", lambda: http.get(BASE + "/f/plain", limit=N - 1), http.TooLarge, False)
r = http.get(BASE + "/f/plain", limit=N)
check("limit exact", body(r) == CONTENT)
r = http.get(BASE + "/f/endless", limit=20000)
fails("limit endless", lambda: body(r), http.TooLarge, False)
r.close()

# A body cut short: clean close (truncate) and reset (drop) are transient.
r = http.get(BASE + "/f/truncate")
fails("truncate", lambda: body(r), http.ShortBody, True)
r.close()
r = http.get(BASE + "/f/drop")
e = fails("drop", lambda: body(r), Exception, True)
r.close()

# A stalled body and a stalled header time out with ETIMEDOUT.
r = http.get(BASE + "/f/stall", timeout=0.3)
fails("stall body", lambda: body(r), OSError, True, errno.ETIMEDOUT)
r.close()
fails("stall head", lambda: http.get(BASE + "/f/stallhead", timeout=0.3), OSError, True, errno.ETIMEDOUT)
# With a watchdog: reads block one slice at a time, feeding it between.
fed = [0]


def feed():
    fed[0] += 1


http.SLICE = 0.1
r = http.get(BASE + "/f/stall2", timeout=0.5, feed=feed)
fails("stall fed", lambda: body(r), OSError, True, errno.ETIMEDOUT)
r.close()
http.SLICE = 2
check("stall fed slices", 3 <= fed[0] <= 5, fed[0])

# Statuses: 404 is final, 503 with Retry-After is transient.
fails("404", lambda: http.check(http.get(BASE + "/nothing"), 200), http.HTTPError, False)
e = fails("503", lambda: http.check(http.get(BASE + "/f/s503"), 200), http.HTTPError, True)
check("503 retry-after", e.status == 503 and e.retry_after == 2, (e.status, e.retry_after))
e = fails("503 date", lambda: http.check(http.get(BASE + "/f/s503date"), 200), http.HTTPError, True)
check("retry-after date", 15 <= e.retry_after <= 30, e.retry_after)  # 30 s from when the Go test planned it
check("http_date", http.http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777)
check("http_date bad", http.http_date("yesterday") == -1)

# Backoff: exponential with jitter, capped; Retry-After honoured (capped);
# sleeps in slices of at most 1 s with the watchdog fed between them.
slept, fed = [], [0]

b = http.Backoff(retries=4, backoff_sec=2, max_backoff_sec=5, sleep=slept.append, feed=feed, rand=lambda: 0.5)
err = http.HTTPError("x", 500, -1, True)
for want in (2, 4, 5, 5):
    del slept[:]
    b.wait(err)
    check("backoff %d" % want, sum(slept) == want and max(slept) <= 1, slept)
fails("backoff spent", lambda: b.wait(err), http.HTTPError)
check("fed", fed[0] >= 16, fed[0])
b = http.Backoff(retries=3, backoff_sec=1, max_backoff_sec=10, sleep=slept.append, rand=lambda: 0.0)
del slept[:]
b.wait(err)
check("jitter low", sum(slept) == 0.5, slept)
fails("not transient", lambda: b.wait(http.HTTPError("404", 404)), http.HTTPError)

# retry() against the server: 503 (Retry-After 1), then 429 (Retry-After
# 100, capped to 3), then the file.
del slept[:]
b = http.Backoff(retries=3, backoff_sec=1, max_backoff_sec=3, sleep=slept.append)
r = http.retry(lambda: http.check(http.get(BASE + "/f/retry"), 200), b)
check("retry", body(r) == CONTENT and sum(slept) == 4, slept)
b = http.Backoff(retries=1, backoff_sec=1, max_backoff_sec=1, sleep=slept.append)
fails("retry gives up", lambda: http.retry(lambda: http.check(http.get(BASE + "/f/retry2"), 200), b), http.HTTPError, True)

# Connection refused is a transient OSError.
e = fails("refused", lambda: http.get("http://127.0.0.1:%s/" % sys.argv[2]), OSError, True, errno.ECONNREFUSED)
check("refused message", str(e).endswith("connect to 127.0.0.1:%s" % sys.argv[2]), str(e))
e = fails("dns", lambda: http.get("http://no-such-host.invalid/"), OSError, True)
check("dns message", "no-such-host.invalid: cannot resolve" in str(e), str(e))
fails("bad url", lambda: http.get("ftp://x/"), http.HTTPError)

# A connect that hangs times out with ETIMEDOUT; with a watchdog it is tried
# in slices, feeding it between them.
stalled = int(sys.argv[3])
if stalled < 0:
    print("no port where a connect hangs: connect timeouts not checked")
else:
    url = "http://127.0.0.1:%d/" % stalled
    t0 = time.ticks_ms()
    e = fails("connect timeout", lambda: http.get(url, connect_timeout=0.3), OSError, True, errno.ETIMEDOUT)
    check("connect timeout message", str(e).endswith("connect to 127.0.0.1:%d" % stalled), str(e))
    check("connect timeout time", 250 <= time.ticks_diff(time.ticks_ms(), t0) < 5000)
    fed[0] = 0
    http.CONNECT_SLICE = 0.2
    t0 = time.ticks_ms()
    fails("connect timeout fed", lambda: http.get(url, connect_timeout=1.0, feed=feed), OSError, True, errno.ETIMEDOUT)
    http.CONNECT_SLICE = 3
    check("connect slices fed", fed[0] == 4, fed[0])
    check("connect slices time", 900 <= time.ticks_diff(time.ticks_ms(), t0) < 8000)

print("http_faults ok: %d checks" % checks)
