"""Crash-safe install of a release on a board's flash (littlefs).

The board's copy of internal/install (read its doc.go): a power cut at any
filesystem operation of an install, a recovery, a rollback or a confirm leaves
the target holding exactly the old release or exactly the new one, and the
version record agrees. Every filesystem call goes through ferry.fs.

API (for update.py and ferry/__init__.py)
-----------------------------------------
    from ferry import install
    inst = install.Installer(target="/", state="/.ferry", allow=None)

    inst.boot(max_trial_boots)   # first thing at every start (ferry.boot()):
                                 # recover(), then count a trial boot, or roll
                                 # back a trial that used them all up. Returns
                                 # "ok", "trial", "rolled back" (str).
    inst.recover()               # finish or undo an interrupted transaction
    rec = inst.installed()       # the version record (dict) or None
    path = inst.manifest_path(rec)   # its stored manifest document, or None

    t = inst.begin(record, trial=False)
        # record: dict with at least "channel", "version", "sequence",
        # "manifest" (hex SHA-256 of the manifest document); other small keys
        # are kept. Recovers first; refuses (ConflictError) while a release is
        # on trial. Writes nothing.
    t.plan(new_entries, old_entries)
        # Both are iterables of manifest entries (mode, size, zsize, sha256,
        # path) SORTED BY PATH, as manifest.py streams them: new_entries from
        # the new (verified) manifest, old_entries from manifest_path(rec) or
        # None. Files whose size matches are hashed; a file already right is
        # never written. Ops stream into <state>/txn/plan (nothing is written
        # when nothing changes). Checks free space (NoSpaceError with the
        # numbers). Returns t.stats: {"put": n, "delete": n, "bytes": n,
        # "folders": n}.
    if t.nothing_to_do(): ...    # no file changes (record may still differ)
    for op in t.needed():        # op.n, op.path, op.size, op.zsize, op.sha256
        # (hex), op.base: the target path of the current file (a delta base)
        # or None
        w = t.stage(op)          # StageWriter: w.write(buf) hashes and
                                 # checks size as it writes; w.written is
                                 # the count so far (resume a Range from it);
                                 # w.restart() starts over; w.close()
                                 # verifies (ChecksumError, ShortError)
    t.commit(doc_path)           # adopt the manifest document at doc_path (any
                                 # file on the same flash, or None when
                                 # manifest_path already has it), journal,
                                 # swap, write the version record (the commit
                                 # point), clean up. Returns t.stats.
    t.abort()                    # drop a transaction that was not committed

    inst.confirm()               # end the trial: the new release stays
    inst.rollback()              # undo the release on trial; returns the
                                 # record rolled back to (or None)

Errors: InstallError and its subclasses ConflictError, NoSpaceError,
ChecksumError, ShortError, StateError; one-line messages naming the path and
the fix. Any error leaves the target as it was (undone now, or by the next
recover()).

Files in <state>
----------------
    installed.json        the version record; replacing it is the commit point
    manifests/<hex>       manifest documents of the record and its previous
    txn/plan              ops being planned and staged (no journal yet)
    txn/journal           the plan renamed: the transaction is in flight
    txn/stage/<n>         verified new content of op n
    txn/backup/<n>        the file op n moved away
    txn/rollback          a rollback is under way (finish it)

The swap without hard links
---------------------------
littlefs has no hard links, so the Linux "link every old file into backup,
then rename staged files over targets" cannot be copied. Instead:

1. Plan: the new and old manifests are merged as sorted streams. A new path
   gives "put n path" unless the file on disk already has its size and
   SHA-256; an old path the new release lacks gives "del n path"; folders the
   new release needs and the disk lacks give "mkdir" lines (shallowest first)
   and folders that only deleted files used give "rmdir" lines (deepest
   first). A file that becomes a folder is a "del" then a "mkdir"; a folder
   that becomes a file is "del"s of its files, "rmdir"s, then a "put".
2. Stage: every put's content is streamed through a StageWriter into
   txn/stage/<n> (hashed and size-checked as it is written; nothing
   unverified is kept). Free space was checked before the first byte.
3. Journal: txn/plan (header: the record to commit and the old record; then
   the ops) is renamed to txn/journal. From here on recovery undoes.
4. Swap, in four passes over the journal: each del renames the target to
   txn/backup/<n>; each rmdir removes an empty folder; each mkdir makes one;
   each put renames the old target (if any) to txn/backup/<n), then renames
   txn/stage/<n> to the target. Renames are atomic on littlefs; between the
   two renames of a put the path is missing for an instant. That is safe on
   a board: the application runs only after ferry.boot(), which finishes or
   undoes the transaction first.
5. Commit: installed.json is written as installed.json.tmp, closed, and
   renamed over (the commit point); os.sync() where the port has it.
6. Clean-up: the journal is removed, then txn/ (backups, stage leftovers).
   On trial the journal and backups stay until confirm() or rollback().

Recovery (recover(), run by boot()): no journal: txn/ is debris and is
removed (the target was never touched). A journal whose record is not the
committed one, or a rollback marker: every op is undone in reverse (puts,
mkdirs, rmdirs, dels), each step looking at the disk so that running it twice
is running it once: a put is undone by moving the target back to stage/<n>
(when stage/<n> is gone, the target holds the new content) and then
backup/<n> back to the target; a del by moving backup/<n> back. Then the old
record is restored (rollback only), the journal removed, txn/ removed. A
journal whose record is committed: clean-up is finished (or, on trial, left).

Trials: with begin(trial=True) the record carries "trial": true, "boots" and
"previous" (the old record). boot() counts boots on trial; one more than
max_trial_boots rolls back. confirm() writes the record without the trial
(the commit point), then cleans up. rollback() writes txn/rollback, undoes
every op, writes the previous record (or removes installed.json when there
was none), then cleans up.
"""

from ferry import fs


class InstallError(Exception):
    """An install failed; the target was left as it was."""


class ConflictError(InstallError):
    """The target has something in the way (or a release is on trial)."""


class NoSpaceError(InstallError):
    """Not enough free flash to stage the update."""


class ChecksumError(InstallError):
    """Staged content does not match the manifest."""


class ShortError(InstallError):
    """Staged content is shorter than the manifest says."""


class StateError(InstallError):
    """The state folder holds something unreadable."""


class Installer:
    def __init__(self, target="/", state="/.ferry", allow=None, log=None):
        raise NotImplementedError("API preview: implementation follows")
