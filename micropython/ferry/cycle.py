# ferry/cycle.py: one update cycle on a board, in the Linux agent's order
# of trust (internal/update/doc.go):
#
#  1. channels/<channel>.note, fetched conditionally (If-None-Match,
#     If-Modified-Since): a poll with nothing new is one small request and
#     writes nothing but the last-check record (<= 64 bytes). The cached
#     pointer, verified when it was stored, is still checked for expiry and
#     rollback, so a frozen origin is noticed.
#  2. The signing-key list, verified against the pinned root keys (at least
#     max(root_threshold, the "# threshold T" of root.pub) of them):
#     keys/signing-keys-2.note (format 2: version, roles); only when it is
#     absent (404) and this board never verified a format-2 list,
#     keys/signing-keys.note (format 1, version 0). A lower version than the
#     highest verified, or another list under the same version, is refused.
#  3. The pointer, verified with a key of role release or refresh; its
#     channel must be the configured one, its sequence not lower than the
#     installed one or the highest seen (rollback), its expiry in the future
#     (freeze). Signatures are checked only when the pointer changed.
#  4. The manifest, downloaded to the state folder with the size the pointer
#     names as its cap, hashed while it streams (it must have the SHA-256 the
#     pointer names), then its signature (role release) checked streaming
#     from the file; its channel, version and sequence must match the
#     pointer's, and its counts and sizes the configured caps.
#  5. Every file's bytes, through install.py's StageWriter (SHA-256 and size
#     checked as they are written), from the release's deflate blob, capped
#     by the size the signed manifest gives.
#
# The clock: a board may have no set clock (board.trusted()). The last-check
# record keeps the last time known good (a set clock, or the signed creation
# time of a verified manifest); expiry is judged against the later of the two,
# and status() says when the clock is not set.

from ferry import board, fetch, fs, install, manifest, records, trust

POLL = "poll.json"  # ETags, key-list version, highest sequence seen; written when they change
POINTER = "pointer.note"  # the verified channel pointer
KEYS = "keys.note"  # the verified signing-key list
LAST = "last-check"  # "<check time> <last good time> <set|unset>\n": the only write of a no-change poll
DOWNLOADS = "downloads"
KEYS2 = "keys/signing-keys-2.note"
KEYS1 = "keys/signing-keys.note"
NOTE_MAX = 16384  # bytes of a pointer or key list held in RAM


class UpdateError(Exception):
    pass


class RollbackError(UpdateError):
    pass


class FrozenError(UpdateError):
    pass


class MismatchError(UpdateError):
    pass


class Result:
    def __init__(self, rec):
        self.frm = rec["version"] if rec else ""
        self.to = self.frm
        self.up_to_date = False
        self.deferred = ""
        self.files = 0
        self.downloaded = 0

    def __str__(self):
        if self.deferred:
            return "deferred %s (%s)" % (self.to, self.deferred)
        if self.up_to_date:
            return "up to date (%s)" % self.to
        return "updated %s -> %s (%d files, %d bytes)" % (self.frm or "(none)", self.to, self.files, self.downloaded)


def read_last(state):
    # (check time, last good time, clock set) from the last-check record.
    data = records.read(state, LAST, 64)
    if not data:
        return 0, 0, False
    try:
        t, good, how = data.decode().split()
        return int(t), int(good), how == "set"
    except ValueError:
        return 0, 0, False


class Cycle:
    def __init__(self, cfg, dev=None, admit=None, trial=True, log=None):
        self.cfg = cfg
        self.dev = dev or board.Board()
        self.admit = admit
        self.trial = trial
        self.log = log or (lambda *a: None)
        self.now = board.now()
        self.clock_ok = board.trusted(self.now)
        _, self.good, _ = read_last(cfg.state)
        if self.clock_ok and self.now > self.good:
            self.good = self.now
        self.poll = records.read_json(cfg.state, POLL) or {}
        self.poll_dirty = False
        self.pointer = None  # a newly verified pointer note, stored on success

    def url(self, path):
        o = self.cfg.origin
        return (o if o.endswith("/") else o + "/") + path

    def at(self):
        # The time expiries are judged against: the clock when it is set,
        # else the last good time.
        return self.now if self.clock_ok else self.good

    def feed(self, *_):
        self.dev.feed()

    def run(self):
        try:
            res = self.cycle()
        except BaseException:
            self.write_last()  # a failed check is a check: min_update_interval_sec holds
            raise
        if self.pointer is not None:
            records.write(self.cfg.state, POINTER, self.pointer)
        if self.poll_dirty:
            records.write_json(self.cfg.state, POLL, self.poll)
        self.write_last()
        return res

    def cycle(self):
        c = self.cfg
        inst = install.Installer(target=c.target, state=c.state, allow=c.allow or None, log=self.log)
        inst.recover()
        rec = inst.installed()
        res = Result(rec)
        self.dev.led("checking")
        ptr, keys = self.poll_pointer(rec)
        res.to = ptr.version
        if rec and rec.get("manifest") == ptr.manifest:
            res.up_to_date = True
            return res
        if rec and rec.get("trial"):
            res.deferred = "release %s is on trial: the application must call ferry.confirm() first" % rec["version"]
            return res
        if self.admit is not None:
            why = self.admit(ptr)
            if why:
                res.deferred = why
                return res
        if keys is None:  # the pointer came from the cache: verify the chain afresh
            keys = self.signing_keys()
            self.check_pointer(self.verify_pointer(keys, records.read(c.state, POINTER, NOTE_MAX)), rec)
        self.dev.led("downloading")
        self.install(inst, keys, ptr, rec, res)
        return res

    def write_last(self):
        rec = "%d %d %s\n" % (self.now, self.good, "set" if self.clock_ok else "unset")
        records.write(self.cfg.state, LAST, rec.encode())

    # 1. The pointer.

    def poll_pointer(self, rec):
        c, p = self.cfg, self.poll
        path = "channels/%s.note" % c.channel
        cached = records.exists(c.state, POINTER)
        etag = p.get("etag") if rec and cached else None
        lm = p.get("lm") if rec and cached else None
        r = fetch.small(self.url(path), NOTE_MAX, etag=etag, since=lm, cfg=c, feed=self.feed)
        if r.status == 304:
            note = records.read(c.state, POINTER, NOTE_MAX)
            ptr = trust.parse_pointer(note)
            self.check_pointer(ptr, rec)
            return ptr, None
        if r.status != 200:
            raise UpdateError("fetch channel pointer %s: HTTP %d" % (path, r.status))
        keys = self.signing_keys()
        ptr = self.verify_pointer(keys, r.body)
        self.check_pointer(ptr, rec)
        self.pointer = r.body
        p["etag"], p["lm"] = r.etag, r.last_modified
        if ptr.sequence > p.get("seq", 0):
            p["seq"] = ptr.sequence
        self.poll_dirty = True
        return ptr, keys

    def verify_pointer(self, keys, note):
        path = "channels/%s.note" % self.cfg.channel
        try:
            return trust.open_pointer(keys, note, feed=self.feed)
        except trust.TrustError as e:
            raise UpdateError("%s: %s" % (path, e))

    def check_pointer(self, p, rec):
        path = "channels/%s.note" % self.cfg.channel
        at = self.at()
        if p.channel != self.cfg.channel:
            raise MismatchError("%s names channel %s, configured is %s" % (path, p.channel, self.cfg.channel))
        if at > p.expires:
            raise FrozenError("%s expired %s: the origin serves stale metadata; the publisher must re-sign the channel%s"
                              % (path, _iso(p.expires), "" if self.clock_ok else " (clock not set: judged by the last good time)"))
        seen = self.poll.get("seq", 0)
        if rec and p.sequence < rec["sequence"]:
            raise RollbackError("%s offers %s (sequence %d), older than the installed %s (sequence %d)"
                                % (path, p.version, p.sequence, rec["version"], rec["sequence"]))
        if p.sequence < seen:
            raise RollbackError("%s offers %s (sequence %d), older than sequence %d already seen"
                                % (path, p.version, p.sequence, seen))
        if rec and p.sequence == rec["sequence"] and p.manifest != rec["manifest"] and rec.get("channel") == p.channel:
            raise MismatchError("%s offers a different manifest under the installed sequence %d" % (path, p.sequence))

    # 2. The signing-key list.

    def signing_keys(self):
        c, p = self.cfg, self.poll
        roots = trust.load_roots(c.root_keys, c.root_threshold, log=self.log)
        fmt = p.get("kfmt", 0)
        cached = records.exists(c.state, KEYS)
        r = fetch.small(self.url(KEYS2), NOTE_MAX, etag=p.get("ketag") if fmt == 2 and cached else None,
                        cfg=c, feed=self.feed)
        path = KEYS2
        if r.status == 404:
            if p.get("kver", 0) > 0 or fmt == 2:
                raise RollbackError("%s is missing, but this board trusts a format-2 list (version %d): "
                                    "format 1 is refused" % (KEYS2, p.get("kver", 0)))
            path = KEYS1
            r = fetch.small(self.url(KEYS1), NOTE_MAX, etag=p.get("ketag") if fmt == 1 and cached else None,
                            cfg=c, feed=self.feed)
        if r.status == 304:
            body = records.read(c.state, KEYS, NOTE_MAX)
        elif r.status == 200:
            body = r.body
        else:
            raise UpdateError("fetch signing keys %s: HTTP %d" % (path, r.status))
        try:
            keys = trust.open_keylist(roots, body, self.at(), feed=self.feed)
        except trust.TrustError as e:
            raise UpdateError("%s: %s (is root_keys the root.pub of this origin's publisher?)" % (path, e))
        self.check_keys(path, keys, body)
        if r.status == 200:
            records.write(c.state, KEYS, body)
            p["ketag"], p["kfmt"] = r.etag, 2 if path == KEYS2 else 1
            self.poll_dirty = True
        return keys

    def check_keys(self, path, keys, body):
        p = self.poll
        have = p.get("kver", 0)
        digest = _hex(_sha256(body))
        if keys.version < have:
            raise RollbackError("%s: signing-key list version %d is older than %d already trusted" % (path, keys.version, have))
        if keys.version == have and have > 0 and digest != p.get("ksha"):
            raise MismatchError("%s: a different signing-key list under the trusted version %d" % (path, have))
        if keys.version > have:
            p["kver"], p["ksha"] = keys.version, digest
            self.poll_dirty = True

    # 4 and 5. The manifest and the files.

    def install(self, inst, keys, ptr, rec, res):
        c = self.cfg
        dl = records.path(c.state, DOWNLOADS)
        mpath = dl + "/manifest.note"
        fs.makedirs(dl)
        try:
            self.fetch_manifest(keys, ptr, mpath, res)
            self.apply(inst, ptr, rec, mpath, res)
        finally:
            fs.remove_tree(dl)

    def apply(self, inst, ptr, rec, mpath, res):
        old = inst.manifest_path(rec) if rec else None
        newrec = {"channel": ptr.channel, "version": ptr.version, "sequence": ptr.sequence, "manifest": ptr.manifest}
        t = inst.begin(newrec, trial=self.trial)
        try:
            t.plan(manifest.entries(mpath), manifest.entries(old) if old else None)
            self.dev.led("installing" if t.nothing_to_do() else "downloading")
            for op in t.needed():
                res.downloaded += self.fetch_file(t, op)
            self.dev.led("installing")
            st = t.commit(mpath)
        except BaseException:
            t.abort()
            raise
        res.files = st["put"] + st["delete"]

    def fetch_manifest(self, keys, ptr, mpath, res):
        c = self.cfg
        path = "releases/%s/manifest.note" % ptr.version
        cap = c.max_manifest_kb * 1024
        if ptr.manifest_size > cap:
            raise UpdateError("%s is %d bytes, limit is %d (raise max_manifest_kb)" % (path, ptr.manifest_size, cap))
        try:
            res.downloaded += fetch.to_file(self.url(path), mpath, ptr.manifest_size, ptr.manifest,
                                            cfg=c, feed=self.feed)
        except fetch.TooLarge:
            raise MismatchError("%s is larger than the %d bytes the signed channel pointer names" % (path, ptr.manifest_size))
        except fetch.HashMismatch:
            raise MismatchError("%s does not have the SHA-256 the signed channel pointer names" % path)
        try:
            m = manifest.open_signed(mpath, keys, feed=self.feed)
        except (trust.TrustError, manifest.ManifestError) as e:
            raise UpdateError("%s: %s" % (path, e))
        if m.channel != ptr.channel or m.version != ptr.version or m.sequence > ptr.sequence:
            raise MismatchError("%s is %s %s #%d, the pointer says %s %s #%d"
                                % (path, m.channel, m.version, m.sequence, ptr.channel, ptr.version, ptr.sequence))
        if m.created > self.good:
            self.good = m.created  # a signed lower bound on the time
        if self.at() > m.expires:
            raise FrozenError("%s expired %s" % (path, _iso(m.expires)))
        self.check_caps(path, mpath)

    def check_caps(self, path, mpath):
        c = self.cfg
        n = total = 0
        for e in manifest.entries(mpath):
            n += 1
            if n > c.max_files:
                raise UpdateError("%s lists more than %d files (raise max_files)" % (path, c.max_files))
            if e.size > c.max_file_mb << 20:
                raise UpdateError("%s: %s is %d bytes, limit is %d MB (raise max_file_mb)" % (path, e.path, e.size, c.max_file_mb))
            total += e.size
            if total > c.max_total_mb << 20:
                raise UpdateError("%s: files total over %d MB (raise max_total_mb)" % (path, c.max_total_mb))
            self.feed()

    def fetch_file(self, t, op):
        w = t.stage(op)
        n = fetch.blob(self.url(fetch.blob_path(op.sha256)), w, op.size, cfg=self.cfg, feed=self.feed)
        w.close()
        return n


def run(cfg, dev=None, admit=None, trial=True, log=None):
    # One update cycle; returns a Result (str() is the one-line outcome) or
    # raises an exception whose message is the one-line failure.
    return Cycle(cfg, dev, admit, trial, log).run()


def _sha256(data):
    import hashlib
    return hashlib.sha256(data).digest()


def _hex(b):
    import binascii
    return binascii.hexlify(b).decode()


def _iso(t):
    y, mo, d, h, mi, s = board.gmtime(t)[:6]
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, h, mi, s)
