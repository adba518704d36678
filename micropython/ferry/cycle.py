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
#     With "rollout-doc 1", for a release not held: the channel's signed
#     rollout document (rollout.py; keys of role rollout:<channel>): halted,
#     not taken; missing, expired or another release's, deferred; else its
#     percent is the canary check's.
#  4. The manifest, downloaded to the state folder with the size the pointer
#     names as its cap, hashed while it streams (it must have the SHA-256 the
#     pointer names), then its signature (role release) checked streaming
#     from the file; its channel, version and sequence must match the
#     pointer's, and its counts and sizes the configured caps.
#  5. Every file's bytes, through a stage.StageWriter (SHA-256 and size
#     checked as they are written), from the release's deflate blob, capped
#     by the size the signed manifest gives.
#
# Steps and memory: the cycle is a generator of steps (steps()); each step
# holds only the code it needs (ferry/mods.py) and ends holding it, so that
# what a caller measures between steps is what the step needed. Steps 1-3
# are chain.py's: a step checks a signature (note.py, Ed25519, SHA-512) or
# parses what was verified (trust.py, header.py), never both. Step 4 checks
# the signature, then (mcheck.py) every line; then the plan (the installer
# and the manifest parser), handed over as plain values
# (install.Txn.detach()); step 5 downloads each file with the HTTP client,
# download.py and stage.Staging only, reading the plan on flash one op at a
# time; the commit takes the installer back (Installer.resume()).
#
# With a "github" table the origin is a GitHub repository (github.py): the
# stable channel reads the same signed files from the latest release's
# assets; the developer channel is unsigned and checks git blob SHA-1s.
#
# The clock: a board may have no set clock (board.trusted()). The last-check
# record keeps the last time known good (a set clock, or the signed creation
# time of a verified manifest); expiry is judged against the later of the two,
# and status() says when the clock is not set.

from binascii import hexlify

from ferry import board, fs, records
from ferry.errors import ExpiredError, ManifestError, MismatchError, NoteError, RollbackError, TooLargeError, again  # noqa: F401 (the refusals, for callers)
from ferry.mods import need, release

POLL = "poll.json"  # ETags, key-list version, highest sequence seen; written when they change
POINTER = "pointer.note"  # the verified channel pointer
KEYS = "keys.note"  # the verified signing-key list
DOWNLOADS = "downloads"
NOTE_MAX = 16384  # bytes of a pointer or key list held in RAM

# The refusals (each with a one-line message and a .code): trust's.
UpdateError = NoteError
FrozenError = ExpiredError


class Result:
    def __init__(self, rec):
        self.frm = rec["version"] if rec else ""
        self.to = self.frm
        self.up_to_date = False
        self.deferred = ""
        self.files = 0
        self.downloaded = 0
        self.link = ""  # issue #17: the link that carried the cycle (links.py)

    def __str__(self):
        if self.deferred:
            return "deferred %s(%s)" % (self.to + " " if self.to else "", self.deferred)
        if self.up_to_date:
            return "up to date (%s)" % self.to
        over = " over " + self.link if self.link else ""
        return "updated %s -> %s (%d files, %d bytes%s)" % (self.frm or "(none)", self.to, self.files, self.downloaded, over)


read_last = records.read_last  # the last-check record; also for __init__, fleet, report


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
        self.keys_note = None  # a newly verified signing-key list, stored on success
        self.commit_sha = None  # the developer channel's commit being installed
        self.base = None  # the installed manifest (its stored path): a delta base

    def url(self, path):
        if self.cfg.github is not None:  # the asset of the latest release
            return self.poll["gprefix"] + need("github").asset_name(path)
        o = self.cfg.origin
        return (o if o.endswith("/") else o + "/") + path

    def at(self):
        # The time expiries are judged against: the clock when it is set,
        # else the last good time.
        return self.now if self.clock_ok else self.good

    def feed(self, *_):
        self.dev.feed()

    def run(self):
        for _ in self.steps():
            pass
        return self.res

    def steps(self):
        # The cycle as a generator that yields between its steps (each
        # document, each file): a caller may interleave its own work, and
        # the heap test collects garbage at each step. self.res holds the
        # Result once it is exhausted.
        try:
            yield from self.over_link()  # issue #17: self.cycle() over the cheapest link up
        except BaseException:
            self.write_last()  # a failed check is a check: min_update_interval_sec holds
            raise
        if self.pointer is not None:
            records.write(self.cfg.state, POINTER, self.pointer)
        if self.keys_note is not None:
            records.write(self.cfg.state, KEYS, self.keys_note)
        if self.poll_dirty:
            records.write_json(self.cfg.state, POLL, self.poll)
        self.write_last()

    def cycle(self):
        c = self.cfg
        inst = self.installer()
        inst.recover()
        rec = inst.installed()
        self.base = inst.manifest_path(rec) if rec else None  # the installed manifest: a delta's base
        res = self.res = Result(rec)
        self.dev.led("checking")
        if c.github is not None and c.github.channel == "developer":
            inst = None
            yield from need("github").developer(self, rec, res)
            return
        inst = None
        yield  # the recovery's step: the installer
        release()
        ptr, keys = yield from need("chain").pointer(self, rec)
        yield
        release()
        res.to = ptr.version
        if rec and rec.get("manifest") == _hex(ptr.manifest):
            res.up_to_date = True
            return
        if rec and rec.get("trial"):
            res.deferred = "release %s is on trial: the application must call ferry.confirm() first" % rec["version"]
            return
        why = self.links.wait(_hex(ptr.manifest)) if self.links is not None else ""  # issue #17
        if why:
            res.deferred = why
            return
        why, fresh = need("rollout").gate(self, ptr, keys) if ptr.rollout_doc else ("", None)  # issue #16
        release()
        if not why and self.admit is not None:
            why = self.admit(ptr)  # the canary check, with the rollout document's percent
        if why:
            res.deferred = why
            return
        if keys is None:  # the pointer came from the cache: verify the chain afresh
            chain = need("chain")
            keys = fresh or (yield from chain.signing_keys(self))
            yield from chain.verify_pointer(self, keys, records.read(c.state, POINTER, NOTE_MAX), rec)
            chain = None
            yield
            release()
        self.dev.led("downloading")
        yield from self.install(keys, ptr, rec, res)

    def installer(self):
        c = self.cfg
        return need("install").Installer(target=c.target, state=c.state, allow=c.allow or None, log=self.log)

    def write_last(self):
        rec = "%d %d %s\n" % (self.now, self.good, "set" if self.clock_ok else "unset")
        records.write(self.cfg.state, records.LAST, rec.encode())

    # 1 to 3: the pointer and the signing-key list, verified (chain.py).

    def signing_keys(self):
        # The verified signing-key list (chain.signing_keys), its steps run
        # at once (for rollout.py).
        g = need("chain").signing_keys(self)
        try:
            while True:
                next(g)
        except StopIteration as e:
            return e.value

    def key_list(self, keys):
        # The verified signing-key list from signing_keys()'s plain copy of
        # it (a trust.KeyList would hold trust.py's code between the steps).
        f, v, e, ks = keys
        Key = need("vkey").Key
        return need("trust").KeyList(f, v, e, [Key(*k) for k in ks])

    # 4 and 5. The manifest and the files.

    def install(self, keys, ptr, rec, res):
        c = self.cfg
        dl = records.path(c.state, DOWNLOADS)
        mpath = dl + "/manifest.note"
        fs.makedirs(dl)
        try:
            path = yield from self.fetch_manifest(ptr, mpath, res, self.base)
            yield from self.open_manifest(path, keys, ptr, mpath)
            yield
            release()  # the header parser goes: the plan reads file lines only
            yield from self.apply(ptr, rec, mpath, res)
        finally:
            fs.remove_tree(dl)
            release()

    def apply(self, ptr, rec, mpath, res, newrec=None):
        # Three kinds of steps, each holding only its code: the plan (the
        # installer and the manifest parser), the downloads (the HTTP client
        # and stage.Staging: the plan streamed from flash), the commit (the
        # installer again, the HTTP client gone).
        if newrec is None:
            newrec = {"channel": ptr.channel, "version": ptr.version, "sequence": ptr.sequence,
                      "manifest": _hex(ptr.manifest)}
        d = need("mcheck").plan(self, rec, mpath, newrec)
        yield
        release()  # the installer and the manifest parser go
        st = need("stage").Staging(self.cfg.state, self.cfg.target, d[5], self.feed)
        try:
            if self.links is not None and self.over_budget(st, ptr, res):  # issue #17, before any content
                st.abort()
                return
            self.dev.led("installing" if not d[5] and not d[4]["folders"] else "downloading")
            for op in st.needed():
                res.downloaded += need("download").fetch_file(self, st, op)
                yield
            op = None
        except BaseException:
            st.abort()
            raise
        staged, st = st.staged, None
        release()  # the HTTP client and the staging writer go
        self.dev.led("installing")
        t = self.installer().resume(d, staged)
        try:
            yield  # the commit's step: the installer is what it holds
            st = t.commit(mpath)
        except BaseException:
            t.abort()
            raise
        res.files = st["put"] + st["delete"]

    def fetch_manifest(self, ptr, mpath, res, base=None):
        # Downloads the manifest note to mpath (a step); returns its origin path.
        c = self.cfg
        path = "releases/%s/manifest.note" % ptr.version
        cap = c.max_manifest_kb * 1024
        if ptr.manifest_size > cap:
            raise TooLargeError("%s is %d bytes, limit is %d (raise max_manifest_kb)" % (path, ptr.manifest_size, cap))
        if base is not None and need("mbundle").manifest(self, ptr, mpath, res, base):  # issue #14: the update bundle
            yield  # the step ends holding the bundle's decoder
            release()
            return path
        release(("fetch", "http"))  # mbundle.py goes; the per-file path below may need the HTTP client
        if base is None or not need("delta").manifest(self, ptr, mpath, res, base):
            need("download").whole_manifest(self, path, ptr, mpath, res)
        yield
        release()
        return path

    def open_manifest(self, path, keys, ptr, mpath):
        # Steps: the manifest's signature checked streaming from flash
        # (chain.py), then every line parsed and checked against the caps,
        # before the plan acts on any.
        f = fs.open_read(mpath)
        try:
            note = need("note")
            end = note.open_manifest(f, note.keys_of(keys[3], ("release",)), ptr, self.feed)
            note = None
        except NoteError as e:
            raise type(e)("%s: %s" % (path, e.args[0]))
        finally:
            f.close()
        yield
        release()
        need("mcheck").lines(self, path, ptr, mpath, end)

    # Links that cost money (issue #17): links.py prices the update on the
    # cheapest link up, defers it over budget and charges <state>/budget.json.

    def over_link(self):
        # self.cycle() over the cheapest link up (without "transport": as is).
        self.links = None
        if getattr(self.cfg, "links", None) is None:
            return self.cycle()
        from ferry import links
        return links.over(self, Result)

    def over_budget(self, t, ptr, res):
        return self.links.over_budget(t, _hex(ptr.manifest) if ptr else (self.commit_sha or ""), res)


def run(cfg, dev=None, admit=None, trial=True, log=None):
    # One update cycle; returns a Result (str() is the one-line outcome) or
    # raises an exception whose message is the one-line failure.
    return Cycle(cfg, dev, admit, trial, log).run()


def _hex(b):
    return hexlify(b).decode()
