# Swap, undo, clean-up, recovery, trial boots, confirm and rollback of ferry.install.
#
# The design is in the comment at the top of install.py. Every undo step looks at the disk
# first, so that running it again after a power cut does nothing more.

from ferry import fs, journal
from ferry.ops import InstallError


def swap(inst, j):
    """Apply journal j to the target, in four passes: dels, rmdirs, mkdirs,
    puts."""
    rm, mk = j.dirs()
    for op in j.ops("del"):
        inst.feed()
        t = inst.tpath(op.path)
        if fs.kind(t) == "f":
            fs.rename(t, inst.backup_path(op.n))
    for d in rm:
        t = inst.tpath(d)
        if fs.kind(t) == "d" and fs.is_empty_dir(t):
            fs.rmdir(t)
    for d in mk:
        t = inst.tpath(d)
        k = fs.kind(t)
        if k == "f":
            raise journal.ConflictError("%r is a file in the target, but the release needs a folder there: move it away" % d)
        if k is None:
            fs.mkdir(t)
    for op in j.ops("put"):
        inst.feed()
        t = inst.tpath(op.path)
        k = fs.kind(t)
        if k == "d":
            raise journal.ConflictError("%r is a folder in the target, but the release has a file there: move it away" % op.path)
        if k == "f":
            fs.rename(t, inst.backup_path(op.n))
        fs.rename(inst.stage_path(op.n), t)
    fs.sync()


def undo(inst, j, committed):
    """Reverse journal j. committed: the record names j's release (a
    rollback): a marker makes an interrupted undo resume, and j.old is
    committed again at the end."""
    if committed and fs.kind(inst.marker) is None:
        fs.write_atomic(inst.marker, j.record["version"] + "\n")
    for op in j.ops("put"):
        inst.feed()
        t = inst.tpath(op.path)
        s = inst.stage_path(op.n)
        if fs.kind(s) is None and fs.kind(t) == "f":
            fs.rename(t, s)  # the new content goes back to the stage
        b = inst.backup_path(op.n)
        if fs.kind(b) == "f":
            fs.rename(b, t)
    rm, mk = j.dirs()
    for i in range(len(mk) - 1, -1, -1):
        t = inst.tpath(mk[i])
        if fs.kind(t) == "d" and fs.is_empty_dir(t):
            fs.rmdir(t)
    for i in range(len(rm) - 1, -1, -1):
        t = inst.tpath(rm[i])
        if fs.kind(t) is None:
            fs.mkdir(t)
    for op in j.ops("del"):
        inst.feed()
        b = inst.backup_path(op.n)
        if fs.kind(b) == "f":
            fs.rename(b, inst.tpath(op.path))
    fs.sync()
    if committed:
        if j.old is not None:
            journal.write_record(inst.record_path, j.old)
        elif fs.kind(inst.record_path) is not None:
            fs.remove(inst.record_path)
            fs.sync()
    _drop(inst, j.old if committed else inst.installed())


def finish(inst, rec):
    """Clean up after a commit: the journal first, then the txn folder."""
    _drop(inst, rec)


def _drop(inst, rec):
    if fs.kind(inst.journal_path) is not None:
        fs.remove(inst.journal_path)
        fs.sync()
    fs.remove_tree(inst.txn)
    prune_manifests(inst, rec)


def prune_manifests(inst, rec):
    """Remove stored manifest documents that rec (and its previous) do not
    name."""
    d = inst.state + "/manifests"
    if fs.kind(d) != "d":
        return
    keep = []
    while rec is not None:
        keep.append(rec.get("manifest"))
        rec = rec.get("previous")
    while True:
        gone = None
        for e in fs.ilistdir(d):  # to the end: the port closes the folder then
            if gone is None and e[0] not in keep:
                gone = e[0]
        if gone is None:
            return
        fs.remove(d + "/" + gone)


def recover(inst):
    """Finish or undo an interrupted transaction. Returns what it did:
    "clean", "undone", "rolled back", "finished" or "trial"."""
    if fs.kind(inst.journal_path) is None:
        if fs.kind(inst.txn) is not None:
            fs.remove_tree(inst.txn)  # staging never touched the target
        prune_manifests(inst, inst.installed())  # reads only, when clean
        return "clean"
    j = journal.Journal(inst.journal_path)
    rec = inst.installed()
    if fs.kind(inst.marker) is not None:
        inst.say("recovery: finishing an interrupted rollback of %s" % j.record["version"])
        undo(inst, j, True)
        return "rolled back"
    if journal.same(rec, j.record):
        if rec.get("trial"):
            return "trial"
        finish(inst, rec)
        return "finished"
    inst.say("recovery: undoing an interrupted install of %s" % j.record["version"])
    undo(inst, j, False)
    return "undone"


def boot(inst, max_trial_boots):
    """recover(), then count one more boot of a release on trial, or roll it
    back when it has had max_trial_boots boots. Returns "ok", "trial" or
    "rolled back"."""
    if recover(inst) == "rolled back":
        return "rolled back"
    rec = inst.installed()
    if rec is None or not rec.get("trial"):
        return "ok"
    boots = rec.get("boots", 0)
    if boots >= max_trial_boots:
        inst.say("%s was not confirmed within %d boots: rolling back" % (rec["version"], max_trial_boots))
        rollback(inst)
        return "rolled back"
    rec["boots"] = boots + 1
    journal.write_record(inst.record_path, rec)
    return "trial"


def confirm(inst):
    """End the trial: write the record without it (the commit point), then
    clean up. Returns the record."""
    recover(inst)
    rec = inst.installed()
    if rec is None or not rec.get("trial"):
        raise journal.InstallError("no release on trial to confirm")
    for k in ("trial", "boots", "previous"):
        rec.pop(k, None)
    journal.write_record(inst.record_path, rec)
    finish(inst, rec)
    return rec


def rollback(inst):
    """Undo the release on trial and commit the previous record again.
    Returns the record rolled back to (None: nothing was installed)."""
    if recover(inst) == "rolled back":
        return inst.installed()
    rec = inst.installed()
    if rec is None or not rec.get("trial") or fs.kind(inst.journal_path) != "f":
        raise journal.InstallError("only a release on trial can be rolled back (its backups are kept only then)")
    j = journal.Journal(inst.journal_path)
    if not journal.same(rec, j.record):
        raise journal.StateError("%s: names %s, the record %s: remove the txn folder" % (inst.journal_path, j.record["version"], rec["version"]))
    undo(inst, j, True)
    return j.old


def commit(t, doc_path):
    """install.Txn.commit() of a planned transaction t: adopt the manifest
    document, journal, swap, write the version record (the commit point),
    clean up."""
    inst = t.inst
    try:
        if t._nok != t.stats["put"]:
            raise InstallError("%d files planned, %d staged and verified: stage every op of needed()" % (t.stats["put"], t._nok))
        _adopt(t, doc_path)
        if t.nothing_to_do():
            return _commit_nochange(t)
    except BaseException:
        t.abort()
        raise
    fs.sync()
    fs.rename(inst.plan_path, inst.journal_path)
    fs.sync()
    try:
        swap(inst, journal.Journal(inst.journal_path))
        journal.write_record(inst.record_path, t._commit_record())
    except BaseException:
        try:
            inst.recover()
        except Exception as e:
            inst.say("undo after a failed install failed too (the next boot retries): %s" % e)
        raise
    try:
        inst.recover()  # clean-up (none on trial)
    except Exception as e:  # committed: the next boot cleans up
        inst.say("clean-up after the commit of %s failed (the next boot retries): %s" % (t.record["version"], e))
    return t.stats


def _adopt(t, doc_path):
    inst = t.inst
    dst = inst.manifest_path(t.record, check=False)
    have = fs.kind(dst) == "f"
    if doc_path is None or doc_path == dst:
        if not have:
            raise InstallError("no manifest document for %s: pass commit() its path" % t.record["version"])
        return
    if have:
        fs.remove(doc_path)
        return
    fs.makedirs(inst.state + "/manifests")
    fs.rename(doc_path, dst)


def _commit_nochange(t):
    inst = t.inst
    if journal.same(t.old, t.record):
        t.stats["uptodate"] = True
    else:
        journal.write_record(inst.record_path, t._commit_record(trial=False))
    prune_manifests(inst, inst.installed())
    return t.stats
