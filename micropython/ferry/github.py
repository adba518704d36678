# ferry/github.py: a GitHub repository as the origin of a board, the stable
# channel: the assets of the latest release, published by `ferry release
# --github` (internal/github). Trust comes from the signed files among the
# assets, checked against the pinned root keys exactly as from a Ferry
# origin; GitHub and TLS are only transport.
#
# A poll is one conditional request for the latest release
# (If-None-Match): a 304 means the release, and so its channel pointer, did
# not change. A 200 is scanned as a stream, never held: only "tag_name" and
# the first asset's "browser_download_url" are kept; every asset of a
# release shares that URL's folder, and an origin path's asset name is
# AssetName(path) of internal/github ("channels/stable.note" ->
# "channels_stable.note"). Assets are downloaded from those URLs (a redirect
# to storage, outside the API's rate limit), so a public repository needs
# no token. A 403 or 429 with Retry-After is retried after the wait the
# server names (http.Backoff). The developer channel (a branch head, git
# blob SHA-1s) is not implemented on boards yet: the config is refused.

from ferry import http

MAX_RELEASE = 1 << 20  # bytes of the latest-release answer scanned
_SAFE = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"


class GitHubError(Exception):
    code = "github"


def asset_name(path):
    # internal/github.AssetName: "/" becomes "_"; bytes GitHub would not
    # keep, and a leading or trailing ".", become "-" and two hex digits.
    b = path.encode()
    out = []
    for i in range(len(b)):
        c = b[i]
        if c == 47:
            out.append("_")
        elif c == 46 and (i == 0 or i == len(b) - 1):
            out.append("-2E")
        elif c in _SAFE:
            out.append(chr(c))
        else:
            out.append("-%02X" % c)
    return "".join(out)


class Latest:
    # The answer to a poll of the latest release.
    def __init__(self, status, tag=None, prefix=None, etag=None):
        self.status, self.tag, self.prefix, self.etag = status, tag, prefix, etag


class _Scan:
    # Finds "key": "string value" pairs in a JSON stream, for a few keys,
    # keeping the first value of each, with a small carry-over between chunks.
    def __init__(self, keys):
        self.keys = keys
        self.found = {}
        self.tail = b""

    def feed(self, chunk):
        data = self.tail + bytes(chunk)
        cut = len(data)
        for k in self.keys:
            if k in self.found:
                continue
            pat = b'"' + k + b'"'
            i = data.find(pat)
            if i < 0:
                continue
            j = i + len(pat)
            while j < len(data) and data[j] in b" \t\r\n:":
                j += 1
            if j >= len(data):
                cut = min(cut, i)  # the value is in the next chunk
                continue
            if data[j] != 34:  # not a string (null): keep looking after it
                continue
            end = data.find(b'"', j + 1)
            if end < 0:
                if len(data) - i > 2048:
                    raise GitHubError("latest release: %s is longer than 2 KB" % k.decode())
                cut = min(cut, i)
                continue
            self.found[k] = data[j + 1:end].replace(b"\\/", b"/").decode()
        keep = max(64, len(data) - cut)
        self.tail = data[-keep:] if keep < len(data) else data


def latest(g, etag=None, cfg=None, feed=None):
    # Poll the latest release of the [github] table g: Latest(304) when it
    # did not change since etag; else its tag and the folder of its asset
    # download URLs.
    url = "%s/repos/%s/%s/releases/latest" % (g.api_url.rstrip("/"), g.owner, g.repo)
    h = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if etag:
        h["If-None-Match"] = etag
    if g.token_file:
        from ferry import fs
        tok = fs.read_small(g.token_file, 512)
        if tok is None:
            raise GitHubError("github.token_file: %s not found" % g.token_file)
        h["Authorization"] = "Bearer " + tok.decode().strip()
    b = http.Backoff(getattr(cfg, "http_retries", 3), getattr(cfg, "backoff_sec", 2),
                     getattr(cfg, "max_backoff_sec", 60), feed=feed)

    def once():
        r = http.check(http.get(url, h, MAX_RELEASE, getattr(cfg, "stall_sec", 30),
                                getattr(cfg, "connect_timeout_sec", 10), feed), 200, 304, 404)
        try:
            if r.status != 200:
                return Latest(r.status, etag=r.etag)
            return _scan(r, feed)
        finally:
            r.close()

    res = http.retry(once, b)
    if res.status == 404:
        raise GitHubError("%s/%s has no published release: publish one with `ferry release --github`" % (g.owner, g.repo))
    return res


def _scan(r, feed):
    s = _Scan((b"tag_name", b"browser_download_url"))
    buf = bytearray(512)
    mv = memoryview(buf)
    while len(s.found) < 2:
        n = r.readinto(buf)
        if not n:
            break
        s.feed(mv[:n])
        if feed:
            feed()
    url = s.found.get(b"browser_download_url")
    if url is None:
        raise GitHubError("the latest release has no assets: it was not published by `ferry release --github`")
    return Latest(200, s.found.get(b"tag_name"), url[:url.rfind("/") + 1], r.etag)
