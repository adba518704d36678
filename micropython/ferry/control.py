# ferry/control.py: the calls of ferry/__init__.py made outside an update
# cycle: boot(), recover(), confirm(), rollback(), status(). __init__.py
# imports this module for the call and releases it (and what it imported)
# after, so that its code is not in the heap while the application runs or
# while an update downloads.

from ferry import _load, _log, CONFIG, FAILED
from ferry import mods as _mods

MAX_FAILED = 4


def _installer(c):
    return _mods.need("install").Installer(target=c.target, state=c.state, allow=c.allow or None)


def boot(path=CONFIG):
    # Settle the flash before the application starts. Never raises (the
    # application must start): a failure is printed and logged.
    try:
        c = _load(path)
    except Exception as e:
        print("ferry: boot:", e)
        return "error: %s" % e
    try:
        inst = _installer(c)
        rec = inst.installed()
        out = inst.boot(c.max_trial_boots)
        if out == "rolled back" and rec:
            why = "%d boots on trial without ferry.confirm() (max_trial_boots %d)" % (c.max_trial_boots + 1, c.max_trial_boots)
            _mark_failed(c, rec, why)
            _log(c, "rollback", rec.get("version"), "rolled back %s: %s" % (rec.get("version"), why))
        return out
    except Exception as e:
        print("ferry: boot:", e)
        _log(c, "error", None, "boot: %s" % e)
        return "error: %s" % e


def _mark_failed(c, rec, why):
    from ferry import board, records
    lst = records.read_json(c.state, FAILED) or []
    lst.append({"version": rec.get("version"), "manifest": rec.get("manifest"), "at": board.now(), "reason": why[:100]})
    records.write_json(c.state, FAILED, lst[-MAX_FAILED:])


def recover(path=CONFIG):
    c = _load(path)
    _installer(c).recover()
    return "recovered"


def confirm(path=CONFIG):
    # The application is healthy: keep the release on trial.
    c = _load(path)
    inst = _installer(c)
    rec = inst.installed()
    if not rec or not rec.get("trial"):
        return "nothing on trial (%s)" % (rec.get("version") if rec else "none installed")
    inst.confirm()
    _log(c, "update", rec.get("version"), "confirmed %s" % rec.get("version"))
    return "confirmed %s" % rec.get("version")


def rollback(path=CONFIG):
    # Undo the release on trial now, and do not take it again.
    c = _load(path)
    inst = _installer(c)
    rec = inst.installed()
    if not rec or not rec.get("trial"):
        raise Exception("rollback: nothing on trial (%s): only a release on trial can be rolled back"
                        % (rec.get("version") if rec else "none installed"))
    prev = inst.rollback()
    to = prev.get("version") if prev else "(none)"
    _mark_failed(c, rec, "rolled back by ferry.rollback()")
    _log(c, "rollback", rec.get("version"), "rolled back %s -> %s" % (rec.get("version"), to))
    return "rolled back %s -> %s" % (rec.get("version"), to)


def status(path=CONFIG):
    # What `ferry-agent status` prints, as lines.
    from ferry import report
    return report.lines(_load(path), _installer)
