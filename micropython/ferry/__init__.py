# Ferry for MicroPython: signed, atomic over-the-air updates for RP2040 and
# ESP32 boards, from the same releases as the Linux agent.
#
# main.py:
#
#     import ferry
#     ferry.boot()            # first line: finish or undo an interrupted
#                             # install, count a trial boot, roll back a
#                             # release not confirmed in max_trial_boots boots
#     ... start the application ...
#     ferry.confirm()         # once the application is healthy
#     ferry.run()             # or: the update loop of `ferry-agent run`
#
# update(), status(), recover(), confirm() and rollback() are what
# `micropython/run DIR <command>` calls; each reads /ferry.json (or the path
# given) and returns the one line (status: lines) the Linux agent would print,
# or raises an exception whose message is the one-line failure.

from ferry import mods as _mods

CONFIG = "/ferry.json"
FAILED = "failed.json"  # releases rolled back after their trial: not taken again

_board = None


def _load(path):
    # The config; config.py's code is released once it is read.
    c = _mods.need("config").load(path)
    _mods.release()
    return c


def _dev(cfg=None, wdt=None):
    global _board
    from ferry import board
    if _board is None:
        _board = board.Board(wdt=wdt, led=cfg.led if cfg else None)
    elif wdt is not None:
        _board.wdt = wdt
    return _board


def _log(c, kind, version, message):
    from ferry import health
    health.add(c.state, c.error_history_limit, kind, version, message)


def bucket(device_id, version):
    # The canary bucket 0..99 of internal/agent/canary: the first 8 bytes of
    # SHA-256("ferry-canary\0" + device id + "\0" + version), big-endian, mod 100.
    import hashlib
    d = hashlib.sha256(b"ferry-canary\x00" + device_id.encode() + b"\x00" + version.encode()).digest()
    return int.from_bytes(d[:8], "big") % 100


def _device_id(c):
    if c.device_id:
        return c.device_id
    from ferry import board
    return board.unique_id()


def _admitter(c):
    def admit(p):
        # The canary check (ferry/canary.py, loaded for it only: the cycle
        # releases it with the step's modules).
        return _mods.need("canary").admit(c, p)
    return admit


def update(path=CONFIG, wdt=None, trial=True):
    # One update cycle. Returns the Result (str(): "updated 1.0 -> 1.1 (N
    # files, M bytes)", "up to date (1.1)", "deferred ..."); raises with a
    # one-line message on failure, leaving the flash as it was.
    c = _load(path)
    return _update(c, _dev(c, wdt), trial)


def _update(c, dev, trial=True):
    from ferry import cycle as _u
    t0 = _ticks()
    try:
        res = _u.run(c, dev, admit=_admitter(c), trial=trial)
    except Exception as e:
        dev.led("error")
        _log(c, "error", None, str(e))
        _report(c, dev, None, e, t0)
        raise
    if res.deferred:
        _log(c, "deferral", res.to, res.deferred)
        dev.led("idle")
    elif not res.up_to_date:
        _log(c, "update", res.to, str(res))
        dev.led("success")
    else:
        dev.led("idle")
    _report(c, dev, res, None, t0)
    return res


def _ticks():
    import time
    return time.ticks_ms()


def _report(c, dev, res, err, t0):
    # Issue #16: one fleet report after every cycle (ferry/fleet.py), sent
    # or queued; never raises, never fails the update.
    if not c.report_url:
        return
    try:
        import time
        fleet = _mods.need("fleet")
        rec = fleet.installed(c.state)
        fleet.after(c, _device_id(c), res, err, rec, time.ticks_diff(time.ticks_ms(), t0), dev.feed)
    except Exception as e:
        import sys
        print("ferry: fleet:", e, file=sys.stderr)
    _mods.release()


def _control(name, *args):
    # ferry/control.py's function name, called; its code (and what it
    # imported: the installer) released after.
    try:
        return getattr(_mods.need("control"), name)(*args)
    finally:
        _mods.release()


def boot(path=CONFIG):
    # Settle the flash before the application starts: finish or undo an
    # interrupted install, count a boot on trial, roll back a release not
    # confirmed within max_trial_boots boots. Never raises (the
    # application must start): a failure is printed and logged.
    return _control("boot", path)


def recover(path=CONFIG):
    return _control("recover", path)


def confirm(path=CONFIG):
    # The application is healthy: keep the release on trial.
    return _control("confirm", path)


def rollback(path=CONFIG):
    # Undo the release on trial now, and do not take it again.
    return _control("rollback", path)


def status(path=CONFIG):
    # What `ferry-agent status` prints, as lines.
    return _control("status", path)


def run(path=CONFIG, battery=None, wdt=None, rand=None, once=False, sleep_ms=None):
    # The update loop of `ferry-agent run` (ferry/loop.py). Never returns
    # (unless once): after an update it resets the board so the new
    # release boots on trial.
    from ferry import loop
    return loop.run(path, battery, wdt, rand, once, sleep_ms)
