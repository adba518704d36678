# ferry/http.py: the HTTP/1.1 client a board needs to read a Ferry origin,
# on the port's socket and ssl modules (the same code runs on a PC in the
# node runner, whose socket module is a bridge to real TCP sockets).
#
#   r = http.get(url, headers=None, limit=-1, timeout=10, connect_timeout=10,
#                feed=None)
#       r.status; r.etag, r.last_modified, r.length (-1: unknown),
#       r.range_start, r.range_total (Content-Range; -1: none),
#       r.location, r.retry_after (seconds; -1: none), r.chunked
#       r.readinto(buf) -> n, 0 at the end of the body; r.read(limit);
#       r.close()  (always: the connection is never reused)
#
# One request per connection (Connection: close). Redirects (301, 302, 303,
# 307, 308) are followed, absolute or relative Location, at most
# MAX_REDIRECTS; Authorization and Cookie headers are dropped on a redirect
# to another host or port. The body is decoded (chunked or Content-Length or up to the
# close) and capped at `limit` bytes: a Content-Length over it fails at once,
# a body that grows past it fails as it reads (TooLarge). A body cut short
# of its Content-Length raises ShortBody. Timeouts raise OSError(ETIMEDOUT)
# from the socket, as a board's do; with feed (the watchdog), a read blocks
# at most SLICE seconds at a time, feed() is called between slices and
# ETIMEDOUT comes once `timeout` seconds passed with no byte. https uses ssl with SNI; trust comes
# from the signatures, not from TLS, so no certificate is checked (a board
# has no CA store to check it against).
#
# Backoff and retry (ferry/backoff.py, re-exported here) are the retry
# policy of ferry-agent.
import socket

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_REDIRECTS = const(5)
MAX_LINE = const(1024)  # longest status or header line accepted
SLICE = 2  # seconds a blocking read may last when a watchdog is fed
CONNECT_SLICE = 3  # seconds a connect attempt may last when a watchdog is fed

# OSError numbers of network failures worth a retry (Linux numbering, which
# MicroPython uses); negative numbers are DNS and TLS errors of the ports.
_NET = (11, 32, 101, 103, 104, 107, 110, 111, 113)


class HTTPError(Exception):
    # A failed HTTP exchange; transient ones are worth a retry.

    def __init__(self, msg, status=0, retry_after=-1, transient=False):
        super().__init__(msg)
        self.status = status
        self.retry_after = retry_after
        self.transient = transient


class TooLarge(HTTPError):
    pass


class ShortBody(HTTPError):
    def __init__(self, msg):
        super().__init__(msg, transient=True)


def transient(e):
    """Whether e (an exception) is worth a retry."""
    if isinstance(e, HTTPError):
        return e.transient
    if isinstance(e, OSError):
        n = e.args[0] if e.args else 0
        return isinstance(n, int) and (n < 0 or n in _NET)
    return False


def split_url(url):
    """(scheme, host, port, path) of an http or https URL."""
    i = url.find("://")
    scheme = url[:i] if i > 0 else ""
    if scheme not in ("http", "https"):
        raise HTTPError("%s: want an http:// or https:// URL" % url)
    rest = url[i + 3:]
    j = rest.find("/")
    hostport, path = (rest, "/") if j < 0 else (rest[:j], rest[j:])
    port = 443 if scheme == "https" else 80
    k = hostport.rfind(":")
    if k >= 0 and "]" not in hostport[k:]:
        try:
            port = int(hostport[k + 1:])
        except ValueError:
            raise HTTPError("%s: bad port" % url)
        hostport = hostport[:k]
    if not hostport:
        raise HTTPError("%s: no host" % url)
    return scheme, hostport, port, path


def resolve(base, loc):
    """The URL a Location header names, relative to base."""
    if "://" in loc:
        return loc
    scheme, host, port, path = split_url(base)
    if loc.startswith("//"):
        return scheme + ":" + loc
    origin = "%s://%s:%d" % (scheme, host, port)
    if loc.startswith("/"):
        return origin + loc
    path = path.split("?", 1)[0]
    return origin + path[:path.rfind("/") + 1] + loc


def _connect(scheme, host, port, timeout, connect_timeout, feed=None):
    # timeout: the socket's read timeout. Errors keep their errno (retries
    # go by it) and name the host. With a watchdog (feed), a connect that
    # times out is tried again, feeding it, until connect_timeout is spent,
    # each attempt lasting at most CONNECT_SLICE seconds: a connect timeout
    # longer than the watchdog's must not reset the board.
    try:
        addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1]
    except OSError as e:
        n = e.args[0] if e.args else -2
        raise OSError(n if isinstance(n, int) and n < 0 else -2, "%s: cannot resolve the host name" % host)
    left = connect_timeout
    while True:
        step = min(left, CONNECT_SLICE) if feed else left
        left -= step
        try:
            return _open(scheme, host, addr, timeout, step)
        except OSError as e:
            n = e.args[0] if e.args else 0
            if n == 110 and feed and left > 0.01 and len(e.args) == 1:
                feed()
                continue
            if isinstance(n, int) and len(e.args) == 1:
                raise OSError(n, "connect to %s:%d" % (host, port))
            raise


def _open(scheme, host, addr, timeout, connect_timeout):
    s = socket.socket()
    try:
        s.settimeout(connect_timeout)
        s.connect(addr)
        # The read timeout goes on the TCP socket before TLS wraps it: some
        # ports' TLS sockets have no settimeout, and their reads (the
        # handshake's too) block on the TCP socket.
        s.settimeout(timeout)
        if scheme == "https":
            s = _tls(s, host)
    except BaseException:
        s.close()
        raise
    return s


def _tls(s, host):
    import ssl
    if hasattr(ssl, "SSLContext"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_NONE
        return ctx.wrap_socket(s, server_hostname=host)
    return ssl.wrap_socket(s, server_hostname=host)


def _int(v, name, url):
    try:
        n = int(v)
    except ValueError:
        n = -1
    if n < 0:
        raise HTTPError("%s: bad %s %r" % (url, name, v))
    return n


_MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec"


def http_date(v):
    """Seconds since 1970 of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
    GMT"), or -1."""
    f = v.split()
    if len(f) != 6 or f[5] != "GMT":
        return -1
    try:
        d, y = int(f[1]), int(f[3])
        m = _MONTHS.find(f[2]) // 3 + 1
        hh, mm, ss = [int(x) for x in f[4].split(":")]
    except ValueError:
        return -1
    if m < 1 or len(f[2]) != 3:
        return -1
    # Days from civil (Howard Hinnant's algorithm), valid for any year.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + hh * 3600 + mm * 60 + ss


_HEADERS = (b"etag", b"last-modified", b"location", b"content-length", b"content-range",
            b"retry-after", b"date", b"transfer-encoding")


class Response:
    def __init__(self, sock, url, limit, timeout=0, feed=None):
        self.sock = sock
        self.timeout = timeout
        self.feed = feed
        self.url = url
        self.limit = limit
        self.status = 0
        self.etag = None
        self.last_modified = None
        self.location = None
        self.length = -1
        self.range_start = -1
        self.range_total = -1
        self.retry_after = -1
        self.chunked = False
        self._date = -1
        self._left = -1  # bytes left of the body or of the current chunk
        self._got = 0
        self._done = False

    def _io(self, mv):
        # Reads the socket into mv (readline when mv is None); with a
        # watchdog, ETIMEDOUT of one slice is retried (feeding it) until
        # `timeout` seconds passed. (No bound method is passed around: this
        # runs for every chunk, and a board's heap should not churn.)
        waited = 0
        while True:
            try:
                if mv is None:
                    return self.sock.readline(MAX_LINE)
                return self.sock.readinto(mv)
            except OSError as e:
                if self.feed is None or e.args[0] != 110:
                    raise
                waited += SLICE
                if waited >= self.timeout:
                    raise
                self.feed()

    def _line(self):
        line = self._io(None)
        if not line:
            raise ShortBody("%s: connection closed in the response header" % self.url)
        if line[-1:] != b"\n":
            raise HTTPError("%s: response line longer than %d bytes" % (self.url, MAX_LINE))
        return line

    def _head(self):
        f = self._line().split(None, 2)
        if len(f) < 2 or not f[0].startswith(b"HTTP/1."):
            raise HTTPError("%s: not an HTTP/1.x response" % self.url, transient=True)
        self.status = _int(f[1], "status", self.url)
        ra = None
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n"):
                break
            i = line.find(b":")
            if i <= 0:
                raise HTTPError("%s: bad header line %r" % (self.url, line[:40]))
            k = line[:i].strip().lower()
            if k not in _HEADERS:
                continue
            try:
                v = line[i + 1:].strip().decode()
            except UnicodeError:
                raise HTTPError("%s: header %s is not UTF-8" % (self.url, k.decode()))
            if k == b"etag":
                self.etag = v
            elif k == b"last-modified":
                self.last_modified = v
            elif k == b"location":
                self.location = v
            elif k == b"content-length":
                self.length = _int(v, "Content-Length", self.url)
            elif k == b"content-range":
                self._range(v)
            elif k == b"retry-after":
                ra = v
            elif k == b"date":
                self._date = http_date(v)
            elif k == b"transfer-encoding":
                self.chunked = v.lower().endswith("chunked")
        if ra is not None:
            self.retry_after = self._after(ra)
        if self.chunked:
            self.length = -1
        self._left = 0 if self.chunked else self.length
        if self.status in (204, 304) or self.length == 0:
            self._done = True
        if 0 <= self.limit < self.length:
            raise TooLarge("%s: %d bytes, more than the %d allowed" % (self.url, self.length, self.limit))

    def _range(self, v):
        # "bytes START-END/TOTAL" (TOTAL may be "*")
        try:
            unit, rest = v.split(" ", 1)
            se, total = rest.split("/", 1)
            self.range_start = -1 if se == "*" else int(se.split("-", 1)[0])
            self.range_total = -1 if total == "*" else int(total)
        except ValueError:
            raise HTTPError("%s: bad Content-Range %r" % (self.url, v))
        if unit != "bytes" or (self.range_start < 0 and se != "*"):
            raise HTTPError("%s: bad Content-Range %r" % (self.url, v))

    def validator(self):
        """Last-Modified when it can stand for the content, else None: only
        when the Date header is at least a second later (as the Linux
        agent's origin does). A file changed again within the second of its
        Last-Modified would otherwise answer If-Modified-Since with a 304
        and the board would miss the change."""
        lm = self.last_modified
        if not lm or self._date < 0:
            return None
        t = http_date(lm)
        return lm if 0 <= t and t + 1 <= self._date else None

    def _after(self, v):
        try:
            return max(int(v), 0)
        except ValueError:
            pass
        t = http_date(v)
        if t < 0 or self._date < 0:
            return -1  # a date with no Date header to measure it from
        return max(t - self._date, 0)

    def readinto(self, buf):
        """Reads body bytes into buf; returns how many, 0 at the end."""
        if self._done:
            return 0
        mv = buf if type(buf) is memoryview else memoryview(buf)
        if self.chunked:
            n = self._chunk(mv)
        else:
            want = len(mv) if self._left < 0 else min(len(mv), self._left)
            n = self._io(mv if want == len(mv) else mv[:want]) if want else 0
            n = n or 0
            if self._left > 0:
                if n == 0:
                    raise ShortBody("%s: connection closed after %d of %d bytes" % (self.url, self._got, self.length))
                self._left -= n
            if n == 0 or self._left == 0:
                self._done = True
        self._got += n
        if 0 <= self.limit < self._got:
            raise TooLarge("%s: body over the %d bytes allowed" % (self.url, self.limit))
        return n

    def _chunk(self, mv):
        if self._left == 0:
            line = self._line()
            try:
                self._left = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HTTPError("%s: bad chunk size line %r" % (self.url, line[:40]), transient=True)
            if self._left == 0:
                while self._line() not in (b"\r\n", b"\n"):
                    pass  # trailers
                self._done = True
                return 0
        n = self._io(mv if self._left >= len(mv) else mv[:self._left]) or 0
        if n == 0:
            raise ShortBody("%s: connection closed inside a chunk" % self.url)
        self._left -= n
        if self._left == 0 and self._line() not in (b"\r\n", b"\n"):
            raise HTTPError("%s: chunk not followed by CRLF" % self.url, transient=True)
        return n

    def read(self, limit):
        """The whole body as bytes, for small documents of at most limit bytes."""
        out = bytearray()
        buf = bytearray(512)
        while True:
            n = self.readinto(buf)
            if n == 0:
                return bytes(out)
            if len(out) + n > limit:
                raise TooLarge("%s: body over the %d bytes allowed" % (self.url, limit))
            out.extend(buf[:n] if n < len(buf) else buf)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _request(url, headers, limit, timeout, connect_timeout, feed):
    scheme, host, port, path = split_url(url)
    s = _connect(scheme, host, port, min(timeout, SLICE) if feed else timeout, connect_timeout, feed)
    r = Response(s, url, limit, timeout, feed)
    try:
        hp = host if port == (443 if scheme == "https" else 80) else "%s:%d" % (host, port)
        s.write(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: ferry-micropython\r\n" % (path.encode(), hp.encode()))
        if headers:
            for k in headers:
                s.write(b"%s: %s\r\n" % (k.encode(), headers[k].encode()))
        s.write(b"\r\n")
        r._head()
    except BaseException:
        r.close()
        raise
    return r


def _public(headers):
    # The headers without credentials: never sent across a redirect to
    # another host (a GitHub release asset redirects to a storage host).
    return {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}


def get(url, headers=None, limit=-1, timeout=10, connect_timeout=10, feed=None):
    """GETs url, following redirects; returns the final Response (any
    status: the caller decides), whose body it has not read."""
    for _ in range(MAX_REDIRECTS + 1):
        r = _request(url, headers, limit, timeout, connect_timeout, feed)
        if r.status not in (301, 302, 303, 307, 308):
            return r
        r.close()
        if not r.location:
            raise HTTPError("%s: redirect %d without Location" % (url, r.status))
        nxt = resolve(url, r.location)
        if headers and split_url(nxt)[1:3] != split_url(url)[1:3]:
            headers = _public(headers)
        url = nxt
    raise HTTPError("%s: more than %d redirects" % (url, MAX_REDIRECTS))


def check(r, *ok):
    """Returns r when its status is one of ok; else closes it and raises
    HTTPError (transient for 408, 429 and 5xx, with the Retry-After)."""
    if r.status in ok:
        return r
    r.close()
    s = r.status
    raise HTTPError("%s: HTTP %d" % (r.url, s), s, r.retry_after, s in (408, 429) or s >= 500)


from ferry.backoff import Backoff, retry  # noqa: E402,F401 (the API's: the retry policy lives in backoff.py)
