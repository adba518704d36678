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
# server names (http.Backoff).
#
# The developer channel (allow_unsigned): the head of github.branch, polled
# with If-None-Match (a 304: nothing new), then its recursive tree listing,
# streamed object by object (capped by max_tree_kb and max_tree_files,
# filtered by subdir and allow, a truncated listing refused); cycle.py turns
# it into an unsigned manifest of git blob SHA-1s and installs each raw file
# (raw_url) checked by its SHA-1 as it streams.

from ferry import http
from ferry.errors import again

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


class fetch_304:
    # What fetch.small answers for a document that did not change.
    status = 304
    body = etag = last_modified = None


def raw_url(cy, path):
    # The URL of path in the commit cycle.Cycle cy installs (the developer
    # channel).
    g = cy.cfg.github
    sub = g.subdir.strip("/")
    return "%s/%s/%s/%s/%s" % (g.raw_url.rstrip("/"), g.owner, g.repo, cy.commit_sha, (sub + "/" if sub else "") + path)


def poll(cy, cached):
    # For cycle.Cycle cy's poll of the channel pointer: the latest release,
    # conditionally. Unchanged: fetch_304 (the cached pointer stands,
    # no request for the pointer); changed: None (the pointer asset is
    # fetched from the release recorded in cy.poll).
    c, p = cy.cfg, cy.poll
    if c.github.channel != "stable":
        raise GitHubError("github.channel %s: boards follow the stable channel (release assets) only" % c.github.channel)
    etag = p.get("getag") if cached and p.get("gprefix") else None
    try:
        lt = latest(c.github, etag, c, cy.feed)
    except Exception as e:
        raise again(e, "github %s/%s: " % (c.github.owner, c.github.repo))
    if lt.status == 304:
        return fetch_304()
    p["gprefix"], p["getag"], p["gtag"] = lt.prefix, lt.etag, lt.tag
    cy.poll_dirty = True
    return None


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


# The developer channel: the head of a branch, unsigned (allow_unsigned):
# each file's git blob SHA-1 from the tree listing is checked as it streams.


def _api(g, path, etag, cfg, feed, limit):
    url = "%s/repos/%s/%s/%s" % (g.api_url.rstrip("/"), g.owner, g.repo, path)
    h = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if etag:
        h["If-None-Match"] = etag
    if g.token_file:
        from ferry import fs
        tok = fs.read_small(g.token_file, 512)
        if tok is None:
            raise GitHubError("github.token_file: %s not found" % g.token_file)
        h["Authorization"] = "Bearer " + tok.decode().strip()
    return http.get(url, h, limit, getattr(cfg, "stall_sec", 30), getattr(cfg, "connect_timeout_sec", 10), feed)


def _retry(fn, cfg, feed):
    b = http.Backoff(getattr(cfg, "http_retries", 3), getattr(cfg, "backoff_sec", 2),
                     getattr(cfg, "max_backoff_sec", 60), feed=feed)
    return http.retry(fn, b)


def dev_head(g, etag=None, cfg=None, feed=None):
    # The commit at the head of g.branch: Latest(304) when unchanged since
    # etag, else Latest(200, tag=<commit SHA>).
    def once():
        r = http.check(_api(g, "git/ref/heads/" + g.branch, etag, cfg, feed, 16384), 200, 304, 404)
        try:
            if r.status != 200:
                return Latest(r.status, etag=r.etag)
            s = _Scan((b"sha",))
            s.feed(r.read(16384))
            sha = s.found.get(b"sha")
            if not sha or len(sha) != 40:
                raise GitHubError("branch %s: no commit SHA in GitHub's answer" % g.branch)
            return Latest(200, sha, None, r.etag)
        finally:
            r.close()

    res = _retry(once, cfg, feed)
    if res.status == 404:
        raise GitHubError("%s/%s has no branch %s (github.branch)" % (g.owner, g.repo, g.branch))
    return res


class _Objects:
    # Cuts the objects of the "tree" array out of a JSON stream: each is
    # flat and small, and is json-decoded alone.
    def __init__(self, on):
        self.on = on
        self.depth = 0
        self.instr = self.esc = False
        self.obj = None
        self.truncated = False
        self.tail = b""

    def feed(self, chunk):
        data = bytes(chunk)
        probe = self.tail + data
        if b'"truncated":true' in probe:
            self.truncated = True
        self.tail = probe[-20:]
        start = 0
        for i in range(len(data)):
            c = data[i]
            if self.instr:
                if self.esc:
                    self.esc = False
                elif c == 92:
                    self.esc = True
                elif c == 34:
                    self.instr = False
                continue
            if c == 34:
                self.instr = True
            elif c in b"{[":
                self.depth += 1
                if c == 123 and self.depth == 3:
                    self.obj = []
                    start = i
            elif c in b"}]":
                if c == 125 and self.depth == 3 and self.obj is not None:
                    self.obj.append(data[start:i + 1])
                    self.on(b"".join(self.obj))
                    self.obj = None
                self.depth -= 1
        if self.obj is not None:
            self.obj.append(data[start:])
            if sum(len(p) for p in self.obj) > 2048:
                raise GitHubError("tree listing: an entry over 2 KB")


def dev_tree(g, commit, allowed, cfg=None, feed=None):
    # The files of the tree at commit, under g.subdir, that allowed(path)
    # keeps: a list of (path, size, git SHA-1 hex) sorted by path. The
    # listing is streamed: over max_tree_kb or max_tree_files it is refused
    # with the key to raise; a truncated listing is refused.
    import json
    from ferry import manifest
    sub = g.subdir.strip("/")
    files = []

    def entry(raw):
        e = json.loads(raw)
        if e.get("type") != "blob" or e.get("mode") in ("120000", "160000"):
            return
        p = e.get("path", "")
        if sub:
            if not p.startswith(sub + "/"):
                return
            p = p[len(sub) + 1:]
        try:
            manifest.valid_path(p.encode())
        except manifest.ManifestError:
            return  # as the Linux agent: a path a device cannot install is skipped
        if p.startswith(".ferry") or not allowed(p):
            return
        if len(files) >= g.max_tree_files:
            raise GitHubError("tree of %s has more than %d files (raise github.max_tree_files)" % (commit[:12], g.max_tree_files))
        files.append((p, int(e.get("size", 0)), e["sha"]))

    def once():
        del files[:]
        cap = g.max_tree_kb * 1024
        r = _api(g, "git/trees/%s?recursive=1" % commit, None, cfg, feed, -1)
        try:
            http.check(r, 200)
            if r.length > cap:
                raise GitHubError("tree of %s is %d KB, more than max_tree_kb %d (raise github.max_tree_kb)" % (commit[:12], r.length >> 10, g.max_tree_kb))
            objs = _Objects(entry)
            buf = bytearray(512)
            mv = memoryview(buf)
            got = 0
            while True:
                n = r.readinto(buf)
                if not n:
                    break
                got += n
                if got > cap:
                    raise GitHubError("tree of %s is more than max_tree_kb %d (raise github.max_tree_kb)" % (commit[:12], g.max_tree_kb))
                objs.feed(mv[:n])
                if feed:
                    feed()
            if objs.truncated:
                raise GitHubError("tree of %s: GitHub truncated the listing: use github.subdir" % commit[:12])
        finally:
            r.close()

    _retry(once, cfg, feed)
    files.sort(key=lambda f: f[0].encode())
    return files


def developer(cy, rec, res):
    # One cycle of the developer channel, for cycle.Cycle cy (a generator
    # of steps, as Cycle.cycle).
    from ferry import cycle, fs, records
    c, g, p = cy.cfg, cy.cfg.github, cy.poll
    mine = rec is not None and rec.get("channel") == "developer"
    try:
        head = dev_head(g, p.get("detag") if mine else None, c, cy.feed)
    except Exception as e:
        raise again(e, "github %s/%s: " % (g.owner, g.repo))
    if head.status == 304:
        res.up_to_date = True
        return
    version = head.tag[:12]
    res.to = version
    p["detag"] = head.etag
    cy.poll_dirty = True
    if mine and rec.get("version") == version:
        res.up_to_date = True
        return
    if rec and rec.get("trial"):
        res.deferred = "release %s is on trial: the application must call ferry.confirm() first" % rec["version"]
        return
    yield
    from ferry import config
    try:
        files = dev_tree(g, head.tag, lambda q: config.allowed(c, q), c, cy.feed)
    except Exception as e:
        raise again(e, "github %s/%s: " % (g.owner, g.repo))
    yield
    dl = records.path(c.state, cycle.DOWNLOADS)
    mpath = dl + "/manifest.note"
    fs.makedirs(dl)
    try:
        digest = dev_manifest(mpath, version, files, cy.at())
        files = None
        cy.commit_sha = head.tag
        newrec = {"channel": "developer", "version": version, "sequence": 0, "manifest": digest}
        yield from cy.apply(None, rec, mpath, res, newrec)
    finally:
        fs.remove_tree(dl)

def dev_manifest(mpath, version, files, now):
    # A manifest of the tree's files ("g" lines: git blob SHA-1s), not
    # signed: its last line only ends the text as a note's would.
    import hashlib
    from binascii import hexlify
    from ferry import fs, trust
    h = hashlib.sha256()
    f = fs.open_write(mpath)
    try:
        head = "ferry-manifest 1\nchannel developer\nversion %s\nsequence 0\ncreated %s\nexpires %s\nfiles %d\n" % (
            version, trust.fmt_time(now), trust.fmt_time(now + 10 * 365 * 86400), len(files))
        line = head.encode()
        f.write(line)
        h.update(line)
        for path, size, sha1 in files:
            line = ("g 0644 %d 0 %s %s\n" % (size, sha1, path)).encode()
            f.write(line)
            h.update(line)
        end = "\n\u2014 unsigned github developer channel\n".encode()
        f.write(end)
        h.update(end)
    finally:
        f.close()
    return hexlify(h.digest()).decode()
