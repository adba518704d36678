# The power-cut proof must catch broken installers: each mutant below edits
# the package's source (this interpreter's in-memory copy of it), reloads it
# and runs the proof that should catch it; a mutant that passes its proof
# fails this test. Run:
#   node micropython/runner/exec.mjs micropython/tests/test_powercut_mutants.py
import sys

import ferry

MODS = ("ferry.install", "ferry.plan", "ferry.stage", "ferry.txn", "ferry.journal", "installkit", "pcreleases")

# name, file, text, replacement, proof (see proof()).
MUTANTS = (
    ("version record written before the swap", "txn.py",
     """        swap(inst, journal.Journal(inst.journal_path))
        journal.write_record(inst.record_path, t._commit_record())""",
     """        journal.write_record(inst.record_path, t._commit_record())
        swap(inst, journal.Journal(inst.journal_path))""", "update"),
    ("no backup: the old file is removed, not moved aside", "txn.py",
     """        if k == "f":
            fs.rename(t, inst.backup_path(op.n))
        fs.rename(inst.stage_path(op.n), t)""",
     """        if k == "f":
            fs.remove(t)
        fs.rename(inst.stage_path(op.n), t)""", "update"),
    ("journal written after the swap", "txn.py",
     """    fs.rename(inst.plan_path, inst.journal_path)
    fs.sync()
    try:
        swap(inst, journal.Journal(inst.journal_path))""",
     """    try:
        swap(inst, journal.Journal(inst.plan_path))
        fs.rename(inst.plan_path, inst.journal_path)""", "update"),
    ("undo of a put leaves the new file in place", "txn.py",
     """            fs.rename(t, s)  # the new content goes back to the stage""",
     """            pass""", "update"),
    ("undo restores deleted files before undoing new folders", "txn.py",
     """    rm, mk = j.dirs()
    for i in range(len(mk) - 1, -1, -1):""",
     """    for op in j.ops("del"):
        b = inst.backup_path(op.n)
        if fs.kind(b) == "f":
            fs.rename(b, inst.tpath(op.path))
    rm, mk = j.dirs()
    for i in range(len(mk) - 1, -1, -1):""", "update"),
    ("recovery finishes a transaction that was not committed", "txn.py",
     """    if journal.same(rec, j.record):
        if rec.get("trial"):""",
     """    if True:
        if rec and rec.get("trial"):""", "update"),
    ("recovery undoes a committed transaction", "txn.py",
     """        finish(inst, rec)
        return "finished\"""",
     """        undo(inst, j, False)
        return "finished\"""", "update"),
    ("rollback without its marker", "txn.py",
     """    if committed and fs.kind(inst.marker) is None:
        fs.write_atomic(inst.marker, j.record["version"] + "\\n")""",
     """    pass""", "rollback"),
    ("confirm cleans up before it writes the record", "txn.py",
     """    journal.write_record(inst.record_path, rec)
    finish(inst, rec)
    return rec""",
     """    finish(inst, rec)
    journal.write_record(inst.record_path, rec)
    return rec""", "confirm"),
    ("trial cleaned up at commit (no backups to roll back to)", "txn.py",
     """        if rec.get("trial"):
            return "trial"
        finish(inst, rec)""",
     """        finish(inst, rec)""", "trial"),
)


def reload():
    for m in MODS:
        if m in sys.modules:
            del sys.modules[m]
        short = m.split(".")[-1]
        if m.startswith("ferry.") and short in dir(ferry):
            delattr(ferry, short)
    import pcreleases
    return pcreleases


def proof(kind):
    pc = reload()
    P, R, V2 = pc.Proof, pc.RELS, pc.V2
    if kind == "update":
        return P("update", pc.with_v1(), lambda f: pc.do_install(f, V2), pc.recover, R, "v2", pc.install_again(V2))
    if kind == "trial":
        return P("install on trial", pc.with_v1(), lambda f: pc.do_install(f, V2, trial=True), pc.recover,
                 R, "v2*", pc.install_again(V2, trial=True))
    if kind == "rollback":
        return P("rollback", pc.with_v1(trial2=True), lambda f: pc.call(f, "rollback"), pc.recover, R, "v1",
                 pc.again("rollback"))
    return P("confirm", pc.with_v1(trial2=True), lambda f: pc.call(f, "confirm"), pc.recover, R, "v2",
             pc.again("confirm"))


def main():
    survived = []
    for kind in ("update", "confirm"):
        print("baseline:", proof(kind).run().report())
    for name, file, text, repl, kind in MUTANTS:
        path = "/pkg/ferry/" + file
        with open(path) as f:
            src = f.read()
        assert src.count(text) == 1, "mutant %r: its text is not in %s once: update the test" % (name, file)
        with open(path, "w") as f:
            f.write(src.replace(text, repl))
        try:
            p = proof(kind)  # imports the mutant: an error here is a broken mutant
            try:
                p.run()
                survived.append(name)
                print("SURVIVED:", name)
            except (AssertionError, OSError, ferry.journal.InstallError) as e:
                print("caught: %s (%s proof: %s)" % (name, kind, str(e).split("\n")[0][:150]))
        finally:
            with open(path, "w") as f:
                f.write(src)
    reload()
    if survived:
        raise SystemExit("mutants the power-cut proof did not catch: %s" % survived)
    print("ok test_powercut_mutants: %d mutants caught" % len(MUTANTS))


main()
