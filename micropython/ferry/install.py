# Crash-safe install of a release on a board's flash (littlefs).
#
# The board's copy of internal/install (read its doc.go): a power cut at any
# filesystem operation of an install, a recovery, a rollback or a confirm leaves
# the target holding exactly the old release or exactly the new one, and the
# version record agrees. Every filesystem call goes through ferry.fs.
#
# API (for update.py and ferry/__init__.py)
# -----------------------------------------
#     from ferry import install
#     inst = install.Installer(target="/", state="/.ferry", allow=None,
#                              log=None, feed=None)
#         # log: a function taking one line (recovery says what it did);
#         # feed: called often during long steps (hashing, swap, undo): pass
#         # the watchdog's feed.
#         # allow: None (every path), a list like config's ("main.py",
#         # "lib/": a path equal to an entry or under one ending "/"), or a
#         # function path -> bool. Paths it rejects are never touched.
#
#     inst.boot(max_trial_boots)   # first thing at every start (ferry.boot()):
#                                  # recover(), then count a trial boot, or roll
#                                  # back a trial that used them all up. Returns
#                                  # "ok", "trial", "rolled back" (str).
#     inst.recover()               # finish or undo an interrupted transaction
#     rec = inst.installed()       # the version record (dict) or None
#     path = inst.manifest_path(rec)   # its stored manifest document, or None
#
#     t = inst.begin(record, trial=False, recover=True)
#         # record: dict with at least "channel", "version", "sequence",
#         # "manifest" (hex SHA-256 of the manifest document); other small keys
#         # are kept. Recovers first (recover=False: the caller just did); refuses (ConflictError) while another
#         # release is on trial (t.uptodate is True when it is this one: plan,
#         # needed and commit then do nothing). Writes nothing. On any
#         # exception from plan, needed, stage or commit, call t.abort().
#     t.plan(new_entries, old_entries)
#         # Both are iterables of manifest entries SORTED BY PATH: tuples
#         # (mode, size, zsize, digest, path), manifest.py's Manifest.files()
#         # tuples (kind, mode, size, zsize, digest, path), or objects with
#         # attributes mode, size, zsize, sha256, path. digest: SHA-256 (32
#         # bytes or 64 hex), or a git blob SHA-1 (20 bytes or 40 hex: the
#         # GitHub developer channel; staged content is checked by it), as manifest.py streams them: new_entries from
#         # the new (verified) manifest, old_entries from manifest_path(rec) or
#         # None. Files whose size matches are hashed; a file already right is
#         # never written. Ops stream into <state>/txn/plan (nothing is written
#         # when nothing changes). Checks free space (NoSpaceError with the
#         # numbers). Returns t.stats: {"put": n, "delete": n, "bytes": n,
#         # "folders": n, "uptodate": bool}.
#     if t.nothing_to_do(): ...    # no file changes (record may still differ)
#     for op in t.needed():        # op.n, op.path, op.size, op.zsize, op.sha256
#         # (hex digest: 64 SHA-256, or 40 git SHA-1), op.base: the target path of the current file (a delta base)
#         # or None. Content waiting in <state>/downloads/ready/<digest> (the update
#         # bundle's, mbundle.py) is moved into the stage here, checked, and not yielded.
#         w = t.stage(op)          # StageWriter: w.write(buf) hashes and
#                                  # checks size as it writes; w.written is
#                                  # the count so far (resume a Range from it);
#                                  # w.restart() starts over; w.close()
#                                  # verifies (ChecksumError, ShortError);
#                                  # after an error the stage file is gone:
#                                  # t.stage(op) again (e.g. the full blob
#                                  # after a failed delta) or t.abort()
#     t.commit(doc_path)           # adopt the manifest document at doc_path (any
#                                  # file on the same flash, or None when
#                                  # manifest_path already has it), journal,
#                                  # swap, write the version record (the commit
#                                  # point), clean up. Returns t.stats
#                                  # ("uptodate": same release, nothing
#                                  # written). doc_path is moved into
#                                  # <state>/manifests (or removed when the
#                                  # document is stored already).
#     t.abort()                    # drop a transaction that was not committed
#     d = t.detach()               # after plan(): the transaction as plain
#                                  # values; stage its files with
#                                  # stage.Staging (no installer code held),
#     t = inst.resume(d, staged)   # then take it back to commit() or abort()
#
#     inst.confirm()               # end the trial: the new release stays
#     inst.rollback()              # undo the release on trial; returns the
#                                  # record rolled back to (or None)
#
# Errors: InstallError and its subclasses ConflictError, NoSpaceError,
# ChecksumError, ShortError, StateError; one-line messages naming the path and
# the fix. Any error leaves the target as it was (undone now, or by the next
# recover()).
#
# Modules: install.py (this API and the commit), plan.py (the plan),
# stage.py (StageWriter, Staging), txn.py (swap, undo, recovery, trials:
# imported when one runs, so that a plan loads none of it), journal.py
# (the journal and version record formats, the errors), fs.py (every
# filesystem call).
#
# Files in <state>
# ----------------
#     installed.json        the version record; replacing it is the commit point
#     manifests/<hex>       manifest documents of the record and its previous
#     txn/plan              ops being planned and staged (no journal yet)
#     txn/journal           the plan renamed: the transaction is in flight
#     txn/stage/<n>         verified new content of op n
#     txn/backup/<n>        the file op n moved away
#     txn/rollback          a rollback is under way (finish it)
#
# The swap without hard links
# ---------------------------
# littlefs has no hard links, so the Linux "link every old file into backup,
# then rename staged files over targets" cannot be copied. Instead:
#
# 1. Plan: the new and old manifests are merged as sorted streams. A new path
#    gives "put n path" unless the file on disk already has its size and
#    digest (SHA-256, or git blob SHA-1 on the GitHub developer channel); an old path the new release lacks gives "del n path"; folders the
#    new release needs and the disk lacks give "mkdir" lines (shallowest first)
#    and folders that only deleted files used give "rmdir" lines (deepest
#    first). A file that becomes a folder is a "del" then a "mkdir"; a folder
#    that becomes a file is "del"s of its files, "rmdir"s, then a "put".
# 2. Stage: every put's content is streamed through a StageWriter into
#    txn/stage/<n> (hashed and size-checked as it is written; nothing
#    unverified is kept). Free space was checked before the first byte.
# 3. Journal: txn/plan (header: the record to commit and the old record; then
#    the ops) is renamed to txn/journal. From here on recovery undoes.
# 4. Swap, in four passes over the journal: each del renames the target to
#    txn/backup/<n>; each rmdir removes an empty folder; each mkdir makes one;
#    each put renames the old target (if any) to txn/backup/<n>, then renames
#    txn/stage/<n> to the target. Renames are atomic on littlefs; between the
#    two renames of a put the path is missing for an instant. That is safe on
#    a board: the application runs only after ferry.boot(), which finishes or
#    undoes the transaction first.
# 5. Commit: installed.json is written as installed.json.tmp, closed, and
#    renamed over (the commit point); os.sync() where the port has it.
# 6. Clean-up: the journal is removed, then txn/ (backups, stage leftovers).
#    On trial the journal and backups stay until confirm() or rollback().
#
# Recovery (recover(), run by boot()): no journal: txn/ is debris and is
# removed (the target was never touched). A journal whose record is not the
# committed one, or a rollback marker: every op is undone in reverse (puts,
# mkdirs, rmdirs, dels), each step looking at the disk so that running it twice
# is running it once: a put is undone by moving the target back to stage/<n>
# (when stage/<n> is gone, the target holds the new content) and then
# backup/<n> back to the target; a del by moving backup/<n> back. Then the old
# record is restored (rollback only), the journal removed, txn/ removed. A
# journal whose record is committed: clean-up is finished (or, on trial, left).
#
# Limits: free space is estimated as (bytes to stage / block size + 2 blocks a
# file + 4) blocks against statvfs's free blocks. A release with no file
# changes commits its record without a trial (nothing to roll back). Recovery
# runs the ferry modules on the flash: if a release replaces ferry's own files
# and the power is cut during its swap, the next boot may run a mix of the old
# and new modules, so keep journal.py's format and txn.py's undo compatible
# across releases (or leave lib/ferry out of `allow`).
#
# Proof: micropython/tests/test_powercut*.py run an install, an update (adds,
# changes, deletes, folders, file<->folder), a record-only commit, an install
# on trial, confirm, rollback, the max_trial_boots rollback and an update
# undone after a conflict on tests/flashmodel.py (littlefs semantics: renames
# atomic, a file not closed at the cut reverts), cut the power before every
# filesystem operation, recover (itself cut at every operation, then run
# again), and check the target holds exactly the old or the new release with
# the record agreeing, and that finishing reaches the new one.
# test_powercut_mutants.py breaks this code ten ways the proof must catch.
# The model cannot see a missing os.sync() (it makes close and rename durable,
# as littlefs does).
#
# Trials: with begin(trial=True) the record carries "trial": true, "boots" and
# "previous" (the old record). boot() counts boots on trial; one more than
# max_trial_boots rolls back. confirm() writes the record without the trial
# (the commit point), then cleans up. rollback() writes txn/rollback, undoes
# every op, writes the previous record (or removes installed.json when there
# was none), then cleans up.

from ferry import digest, fs, journal
from ferry.plan import Planner
from ferry.ops import (  # noqa: F401 (re-exported: the API's errors)
    ChecksumError,
    ConflictError,
    InstallError,
    NoSpaceError,
    ShortError,
    StateError,
)

_BUF = 512


class Installer:
    # Installs releases into target, keeping its records in state.

    def __init__(self, target="/", state="/.ferry", allow=None, log=None, feed=None):
        self.feed = feed or _nop
        self.target = target.rstrip("/")  # "" is the flash root
        self.state = state.rstrip("/")
        self.allow = allow
        self.log = log
        self.buf = bytearray(_BUF)
        self.txn = self.state + "/txn"
        self.record_path = self.state + "/installed.json"
        self.journal_path = self.txn + "/journal"
        self.plan_path = self.txn + "/plan"
        self.marker = self.txn + "/rollback"

    def say(self, msg):
        if self.log:
            self.log(msg)

    def tpath(self, p):
        """The flash path of manifest path p."""
        return self.target + "/" + p

    def stage_path(self, n):
        return self.txn + "/stage/" + str(n)

    def backup_path(self, n):
        return self.txn + "/backup/" + str(n)

    def installed(self):
        """The version record (a dict), or None when nothing is installed."""
        return journal.read_record(self.record_path)

    def manifest_path(self, rec, check=True):
        """The stored manifest document of record rec, or None."""
        if rec is None:
            return None
        p = self.state + "/manifests/" + rec["manifest"]
        if check and fs.kind(p) != "f":
            return None
        return p

    def in_flight(self):
        """The record a transaction in flight would commit, or None."""
        if fs.kind(self.journal_path) != "f":
            return None
        return journal.Journal(self.journal_path).record

    def recover(self):
        """Finish or undo an interrupted transaction (see the comment at the top)."""
        from ferry import txn
        return txn.recover(self)

    def boot(self, max_trial_boots=3):
        """recover(), then count a boot on trial or roll the trial back."""
        from ferry import txn
        return txn.boot(self, max_trial_boots)

    def confirm(self):
        """End the trial of the installed release: it stays."""
        from ferry import txn
        return txn.confirm(self)

    def rollback(self):
        """Undo the release on trial; returns the record rolled back to."""
        from ferry import txn
        return txn.rollback(self)

    def begin(self, record, trial=False, recover=True):
        """Start a transaction that will commit record (writes nothing)."""
        for k in ("channel", "version", "sequence", "manifest"):
            if k not in record:
                raise InstallError("record: no %r: update.py must fill it" % k)
        if recover:  # False: the caller has just run recover()
            self.recover()
        old = self.installed()
        if old is not None and old.get("trial"):
            if journal.same(old, record):
                return Txn(self, record, old, trial, uptodate=True)
            raise ConflictError("%s is on trial: confirm or roll it back first" % old["version"])
        return Txn(self, record, old, trial)

    def hash_file(self, path, size, digest_):
        """The hex digest (of digest_'s kind: see digest.new_hash) of the
        first size bytes of the file at path."""
        return digest.hash_file(path, size, digest_, self.buf, self.feed)

    def resume(self, d, staged):
        """The transaction t.detach() gave, staged files counted (its
        stage files written by a stage.Staging meanwhile): commit() or
        abort() it."""
        record, old, trial, uptodate, stats, n = d
        t = Txn(self, record, old, trial, uptodate)
        t.stats, t._n, t._nok, t._planned = stats, n, staged, True
        return t


def _nop():
    pass


class Txn(Planner):
    # One install: plan, stage, commit (see the comment at the top of this file).

    def __init__(self, inst, record, old, trial, uptodate=False):
        self.inst = inst
        self.record = dict(record)
        self.old = old
        self.trial = trial
        self.uptodate = uptodate
        self.stats = {"put": 0, "delete": 0, "bytes": 0, "folders": 0, "uptodate": uptodate}
        self._f = None
        self._n = 0
        self._ok = None
        self._nok = 0
        self._planned = False

    def nothing_to_do(self):
        """True when no file changes (the record may still be new)."""
        return self._n == 0 and not self.stats["folders"]

    # --- stage --------------------------------------------------------
    def needed(self):
        """Yield the put ops whose content must be staged."""
        if not self._planned:
            raise InstallError("needed() before plan()")
        if self.nothing_to_do():
            return
        from ferry import stage
        yield from stage.needed(self.inst.plan_path, self.inst.target, self._ready)

    def _ready(self, op):
        # Content the update bundle staged ahead of the plan (stage.ready()).
        from ferry import stage
        return stage.ready(self.inst.state, self.inst.stage_path(op.n), op, self.inst.feed, self._staged)

    def stage(self, op):
        """A StageWriter for op's content (verified as it is written)."""
        from ferry import stage
        return stage.StageWriter(self.inst.stage_path(op.n), op, self._staged)

    def detach(self):
        """The planned transaction as plain values, for Installer.resume()
        once the files are staged: the download step need not hold the
        installer's code (stage.Staging stages from the plan on flash)."""
        if not self._planned:
            raise InstallError("detach() before plan()")
        return (self.record, self.old, self.trial, self.uptodate, self.stats, self._n)

    def _staged(self, n):
        b = 1 << (n & 7)
        if not self._ok[n >> 3] & b:
            self._ok[n >> 3] |= b
            self._nok += 1

    # --- commit -------------------------------------------------------
    def _commit_record(self, trial=True):
        r = dict(self.record)
        for k in ("trial", "boots", "previous"):
            r.pop(k, None)
        if trial and self.trial:
            r["trial"] = True
            r["boots"] = 0
            r["previous"] = self.old
        return r

    def commit(self, doc_path=None):
        """Journal, swap, write the version record (the commit point):
        txn.commit()."""
        if not self._planned:
            raise InstallError("commit() before plan()")
        if self.uptodate:
            return self.stats
        from ferry import txn
        return txn.commit(self, doc_path)

    def abort(self):
        """Drop a transaction that was not committed (the target is as it
        was)."""
        if self._f is not None:
            f, self._f = self._f, None
            try:
                f.close()
            except OSError:
                pass
        from ferry import stage
        stage.Staging(self.inst.state, self.inst.target, 0).abort()
