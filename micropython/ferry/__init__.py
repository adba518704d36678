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
MAX_FAILED = 4

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


def _installer(c):
    from ferry import install
    return install.Installer(target=c.target, state=c.state, allow=c.allow or None)


def _log(c, kind, version, message):
    from ferry import health
    health.add(c.state, c.error_history_limit, kind, version, message)


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
        from ferry import records
        from binascii import hexlify
        h = hexlify(p.manifest).decode()
        for f in records.read_json(c.state, FAILED) or []:
            if f.get("manifest") == h:
                return "release %s failed its trial (%s): waiting for a newer release" % (f.get("version"), f.get("reason"))
        if p.rollout < 100:
            dev = _device_id(c)
            if not dev:
                return "staged rollout at %d%% and no device id: set device_id" % p.rollout
            b = bucket(dev, p.version)
            if b >= p.rollout:
                return "staged rollout at %d%%: this device's bucket is %d" % (p.rollout, b)
        return ""
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


def run(path=CONFIG, battery=None, wdt=None, rand=None, once=False, sleep_ms=None):
    # The update loop of `ferry-agent run`. Never returns (unless once):
    # after an update it resets the board so the new release boots on trial.
    # With a lora transport it listens to the module while it waits: a
    # downlink announcing a newer release makes the next check due now.
    # sleep_ms: how to sleep (default: the board's, feeding the watchdog).
    from ferry import board, cycle as _u, schedule
    c = _load(path)
    dev = _dev(c, wdt)
    if wdt is None:
        dev.watchdog(c.watchdog_timeout_ms)
    sched = schedule.Schedule(c, battery=battery, rand=rand)
    last, _, _ = _u.read_last(c.state)
    sched.start(board.now(), last)
    ear = _ear(c)
    sleep = sleep_ms or dev.sleep_ms
    deferred = ""
    while True:
        t = board.now()
        last, _, _ = _u.read_last(c.state)
        ok, why, nxt = sched.decide(t, last, board.trusted(t))
        if not ok:
            if why != schedule.NOT_DUE and why != deferred:
                deferred = why
                _log(c, "deferral", None, why)
            dev.led("idle")
            if once:
                return why
            if _wait(dev, sleep, ear, max(1, min(nxt - t, 3600)) * 1000):
                sched.check_soon(board.now())
            continue
        deferred = ""
        sched.begin()
        try:
            res = _update(c, dev)
        except Exception as e:
            res = None
            print("ferry:", e)
        sched.checked(board.now())
        if res is not None and not res.up_to_date and not res.deferred:
            schedule.intend_reset(c)
            board.reset()
        if once:
            return str(res) if res is not None else "error"


def _ear(c):
    # run()'s LoRa listener, (lora.Listener, UART), or None: no lora
    # transport, or its UART cannot be opened (checks keep the schedule).
    t = c.links.lora() if c.links is not None else None
    if t is None:
        return None
    from ferry import board, lora
    _mods.pin("lora")  # the Listener lives as long as run()

    def installed():
        return (_installer(c).installed() or {}).get("sequence", 0)

    try:
        return lora.listen(t, installed, lambda: board.now(), lambda *a: print("ferry:", *a))
    except Exception as e:
        print("ferry: lora module unavailable: updates wait for the schedule:", e)
        _log(c, "error", None, "lora link %s: %s" % (t.name, e))
        return None


def _wait(dev, sleep, ear, ms):
    # Sleep ms, feeding the watchdog; with an ear, in steps of
    # lora.LISTEN_MS, polling the module before each (never blocking):
    # True as soon as it accepted a downlink.
    step = ms
    if ear is not None:
        from ferry import lora
        step = lora.LISTEN_MS
    while True:
        if ear is not None:
            try:
                if ear[0].poll(ear[1]) is not None:
                    return True
            except Exception as e:  # a failing module never stops the loop
                print("ferry: lora:", e)
        if ms <= 0:
            return False
        dev.feed()
        sleep(min(ms, step))
        ms -= step
