# ferry/fetch.py: downloads from the origin for update.py/cycle.py (MP-4),
# on ferry/http.py, with the retry policy of the config (http_retries,
# backoff_sec, max_backoff_sec; stall_sec is the read timeout,
# connect_timeout_sec the connect timeout) and the watchdog fed throughout.
#
#   small(url, limit, etag=None, since=None, cfg=None, feed=None)
#       -> Small: .status (200, 304 or 404), .body (bytes, 200 only), .etag,
#          .last_modified (only without an ETag, and only when the answer's
#          Date is a second or more after it: http.Response.validator).
#          Conditional on etag (If-None-Match) and since (If-Modified-Since). A body over limit raises TooLarge; other
#          statuses raise http.HTTPError after the retries.
#   to_file(url, path, size, sha, cfg=None, feed=None) -> bytes received
#       Streams the body into the file at path (created or truncated), its
#       SHA-256 computed as it streams; more than size bytes raises
#       TooLarge, another digest (or a shorter body) HashMismatch (the file
#       is then removed).
#   blob(url, w, size, cfg=None, feed=None) -> bytes received
#       Downloads the zlib blob of a content of `size` bytes (the URL of
#       blob_path(sha)) and decodes it into w (install's StageWriter, which
#       checks size and SHA-256; the caller closes w). The compressed body is
#       capped at zcap(size) (TooLarge); a stream that does not decode raises
#       HashMismatch.
#   blob_path(sha hex) -> "blobs/sha256/<ab>/<sha>.z"
#   patch(url, base, w, size, cfg=None, feed=None) -> bytes received
#       Downloads a MicroPython patch (the URL of patch_path(old sha, new
#       sha), internal/layout's .mpatch) and rebuilds the new content into w
#       from the file at `base` (the old content, which the caller checked
#       has the old SHA-256), seeking in it: copy ranges and literals. A
#       patch that does not decode, names another size, or copies past the
#       end of base raises HashMismatch; w checks the SHA-256. On any error
#       the caller falls back to blob() (after w.restart()).
#   patch_path(old sha hex, new sha hex) -> "deltas/<old>/<new>.mpatch"
#
# Resume: a transfer cut mid-body (reset, clean close, stall) resumes with
# "Range: bytes=N-" where it stopped; when the origin ignores Range (200
# instead of 206) the body starts over and the bytes already kept are
# skipped, not written again (paths are immutable; the SHA-256 catches an
# origin that changed one). The retry count starts over whenever a request
# moved the transfer on. Resume works within one call: fs has no append mode,
# so a transfer cut by a reboot starts over next cycle.
#
# Deflate: the port's deflate.DeflateIO needs a native stream (io.IOBase is
# missing in some ports, the WebAssembly one among them), so a blob is first
# downloaded to <state>/blob.z on flash, then decoded from that file with a
# window of 2**WBITS bytes into w, and the file removed. This costs the
# compressed bytes in flash writes and free space for one compressed blob
# (at most zcap(size)) while it is staged.
import deflate
import hashlib
from binascii import hexlify

from ferry import fs, http

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

WBITS = const(11)  # the blob's deflate window: 2**11 bytes (internal/layout)
CHUNK = const(1024)

TooLarge = http.TooLarge


class HashMismatch(Exception):
    pass


class Small:
    def __init__(self, status, body, etag, last_modified):
        self.status = status
        self.body = body
        self.etag = etag
        self.last_modified = last_modified


def blob_path(sha):
    return "blobs/sha256/%s/%s.z" % (sha[:2], sha)


def zcap(size):
    """The most bytes an honest publisher's zlib blob of size bytes has
    (layout.ZlibCap in Go): stored blocks cost 5 bytes per block."""
    return size + size // 64 + 64


def _cfg(cfg, key, default):
    return getattr(cfg, key, default) if cfg is not None else default


def _backoff(cfg, feed):
    return http.Backoff(_cfg(cfg, "http_retries", 3), _cfg(cfg, "backoff_sec", 2),
                        _cfg(cfg, "max_backoff_sec", 60), feed=feed)


def _get(url, headers, limit, cfg, feed):
    if feed:
        feed()
    return http.get(url, headers, limit, _cfg(cfg, "stall_sec", 30),
                    _cfg(cfg, "connect_timeout_sec", 10), feed=feed)


def small(url, limit, etag=None, since=None, cfg=None, feed=None):
    h = {}
    if etag:
        h["If-None-Match"] = etag
    if since:
        h["If-Modified-Since"] = since

    def once():
        r = http.check(_get(url, h, limit, cfg, feed), 200, 304, 404)
        try:
            body = r.read(limit) if r.status == 200 else None
        finally:
            r.close()
        return Small(r.status, body, r.etag, None if r.etag else r.validator())

    return http.retry(once, _backoff(cfg, feed))


def _stream(url, sink, cap, cfg, feed):
    """Streams url's body into sink(memoryview), resuming with Range;
    returns the bytes received. More than cap bytes raise TooLarge."""
    b = _backoff(cfg, feed)
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    st = [0, 0]  # bytes kept, bytes received
    while True:
        try:
            if _once(url, sink, cap, cfg, feed, b, mv, st):
                return st[1]
        except Exception as e:
            b.wait(e)


def _once(url, sink, cap, cfg, feed, b, mv, st):
    have = st[0]
    r = _get(url, {"Range": "bytes=%d-" % have} if have else None, -1, cfg, feed)
    try:
        if have and r.status == 416 and r.range_total == have:
            return True  # all there: the cut came after the last byte
        http.check(r, 200, 206)
        skip = 0
        if r.status == 206:
            if r.range_start != have:
                raise http.HTTPError("%s: Content-Range starts at %d, not %d" % (url, r.range_start, have))
        else:
            skip = have
        if r.length >= 0 and r.length - skip + have > cap:
            raise TooLarge("%s: %d bytes, more than the %d allowed" % (url, r.length - skip + have, cap))
        while True:
            n = r.readinto(mv)
            if n == 0:
                return True
            st[1] += n
            k = min(skip, n)
            skip -= k
            if k == n:
                continue
            if st[0] + n - k > cap:
                raise TooLarge("%s: more than the %d bytes allowed" % (url, cap))
            sink(mv if k == 0 and n == len(mv) else mv[k:n])
            st[0] += n - k
            b.progress()
            if feed:
                feed()
    finally:
        r.close()


def to_file(url, path, size, sha, cfg=None, feed=None):
    h = hashlib.sha256()
    f = fs.open_write(path)
    st = [0]

    def sink(chunk):
        h.update(chunk)
        f.write(chunk)
        st[0] += len(chunk)

    try:
        got = _stream(url, sink, size, cfg, feed)
    finally:
        f.close()
    if st[0] != size or hexlify(h.digest()).decode() != sha:
        fs.remove(path)
        raise HashMismatch("%s: %d bytes, not the %d bytes with SHA-256 %s" % (url, st[0], size, sha[:16]))
    return got


def blob(url, w, size, cfg=None, feed=None):
    tmp = _cfg(cfg, "state", "/.ferry") + "/blob.z"
    f = fs.open_write(tmp)
    try:
        got = _stream(url, f.write, zcap(size), cfg, feed)
    finally:
        f.close()
    try:
        _inflate(url, tmp, w, feed)
    finally:
        fs.remove(tmp)
    return got


def _inflate(url, tmp, w, feed):
    f = fs.open_read(tmp)
    try:
        d = deflate.DeflateIO(f, deflate.ZLIB, WBITS)
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        while True:
            try:
                n = d.readinto(mv)
            except (OSError, EOFError, ValueError) as e:
                raise HashMismatch("%s: not a zlib stream with a %d-byte window (%r)" % (url, 1 << WBITS, e))
            if not n:
                return
            w.write(mv if n == len(mv) else mv[:n])
            if feed:
                feed()
    finally:
        f.close()


def patch_path(old, new):
    return "deltas/%s/%s.mpatch" % (old, new)


def patch(url, base, w, size, cfg=None, feed=None):
    tmp = _cfg(cfg, "state", "/.ferry") + "/patch.z"
    f = fs.open_write(tmp)
    try:
        got = _stream(url, f.write, zcap(size), cfg, feed)
    finally:
        f.close()
    try:
        from ferry import mpatch  # the decoder: loaded only when a patch is used
        mpatch.Patch(url, tmp, base, size, feed).apply(w)
    finally:
        fs.remove(tmp)
    return got
