# ferry/loop.py: ferry.run(), the update loop of `ferry-agent run`, with
# its LoRa listener. Imported by ferry.run() only: an application that
# calls ferry.update() from its own loop does not hold this code.

from ferry import _dev, _load, _log, _update, CONFIG
from ferry import mods as _mods


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
        return (_mods.need("install").Installer(target=c.target, state=c.state).installed() or {}).get("sequence", 0)

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
