# Tests of ferry.schedule (and the parts of ferry.board it uses), in real
# MicroPython: node micropython/runner/exec.mjs micropython/tests/test_schedule.py
from ferry import board, config, records, schedule

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


def cfg(**kw):
    d = {"origin": "http://127.0.0.1/", "root_keys": ["/root.pub"], "state": "/.ferry-sched"}
    d.update(kw)
    return config.parse(d)


def fixed(x):
    return lambda: x


H = 3600
T0 = 1796000400 - 1796000400 % 86400  # a midnight UTC

# Poll interval with jitter: a board that never checked checks at once;
# one that did waits a jittered interval.
s = schedule.Schedule(cfg(min_update_interval_sec=0), rand=fixed(0.5))
s.start(T0, None)
ok, why, nxt = s.decide(T0, None)
check("never checked: due", ok, why)
s = schedule.Schedule(cfg(min_update_interval_sec=0), rand=fixed(1.0))
s.start(T0 + 10, T0)
ok, why, nxt = s.decide(T0 + 10, T0)
check("not due", not ok and why == schedule.NOT_DUE, why)
check("jitter +10%", nxt == T0 + 3960, nxt - T0)
s = schedule.Schedule(cfg(min_update_interval_sec=0), rand=fixed(0.0))
s.start(T0 + 10, T0)
check("jitter -10%", s.next == T0 + 3240, s.next - T0)
# Overdue: spread over the jitter span, not at once.
s = schedule.Schedule(cfg(min_update_interval_sec=0), rand=fixed(0.5))
s.start(T0 + 100 * H, T0)
check("overdue spread", s.next == T0 + 100 * H + 180, s.next - T0 - 100 * H)

# Minimum interval across reboots wins over a shorter poll interval.
s = schedule.Schedule(cfg(check_interval_sec=60, min_update_interval_sec=600), rand=fixed(0.5))
s.start(T0, T0 - 30)
ok, why, nxt = s.decide(T0, T0 - 30)
check("min interval", not ok and "min_update_interval_sec" in why and nxt == T0 + 570, (why, nxt - T0))

# Windows in local time, across midnight, with a UTC offset.
check("window across midnight", schedule.window_contains(22, 4, 23) and schedule.window_contains(22, 4, 3)
      and not schedule.window_contains(22, 4, 4))
check("whole day", schedule.window_contains(5, 5, 17))
s = schedule.Schedule(cfg(update_window_start_hour=2, update_window_end_hour=5, utc_offset_min=60), rand=fixed(0.5))
s.start(T0 + 12 * H, None)
ok, why, nxt = s.decide(T0 + 12 * H, None)  # 13:00 local
check("outside window", not ok and "update window 02:00-05:00" in why, why)
check("next opening is 02:00 local = 01:00 UTC tomorrow", nxt == T0 + 25 * H, (nxt - T0) / H)
s.next = T0
ok, why, nxt = s.decide(T0 + 1 * H + 5, None)  # 02:00 local
check("inside window", ok, why)
ok, why, nxt = s.decide(T0 + 1 * H, None, clock_ok=False)
check("window without a clock defers", not ok and "clock not set" in why, why)

# Solar replaces the update window; default 10 to 16.
s = schedule.Schedule(cfg(power_source="solar", update_window_start_hour=2, update_window_end_hour=5))
s.start(T0 + 11 * H, None)
check("solar window", s.decide(T0 + 11 * H, None)[0] and not s.decide(T0 + 3 * H, None)[0])

# Battery from a function: low and unreadable defer, fail closed.
s = schedule.Schedule(cfg(min_battery_percent=40), battery=fixed(30))
s.start(T0, None)
ok, why, _ = s.decide(T0, None)
check("battery low", not ok and "battery at 30%" in why, why)


def broken():
    raise OSError("i2c")


s.battery = broken
ok, why, _ = s.decide(T0, None)
check("battery unreadable", not ok and "unreadable" in why, why)
s.battery = fixed(80)
check("battery ok", s.decide(T0, None)[0])
s.battery = None
ok, why, _ = s.decide(T0, None)
check("battery with no source", not ok and "battery_adc_pin" in why, why)

# Crash backoff: watchdog resets Ferry did not ask for count; its own do not.
c = cfg(max_crashes_before_delay=2, crash_delay_sec=1000, min_update_interval_sec=0)
records.remove(c.state, schedule.STATE)
s = schedule.Schedule(c)
s.notice_reset("watchdog", T0)
schedule.intend_reset(c)
s = schedule.Schedule(c)
s.notice_reset("watchdog", T0 + 5)
check("intended reset not counted", s.crashes()[0] == 1, s.crashes())
check("intent consumed", not records.exists(c.state, schedule.INTENDED))
s.notice_reset("power on", T0 + 6)
s = schedule.Schedule(c)  # survives a reboot
s.notice_reset("watchdog", T0 + 10)
s.next = T0
ok, why, nxt = s.decide(T0 + 20, None)
check("crash backoff", not ok and "crash backoff: 2 crashes" in why and nxt == T0 + 1010, (why, nxt - T0))
s.checked(T0 + 1010)
check("a finished check clears crashes", schedule.Schedule(c).crashes()[0] == 0)

# Board parts work without machine (the runner): feeding is a no-op.
b = board.Board(led="LED")
b.led("downloading")
b.feed()
check("no machine: unknown cause", board.reset_cause() == "unknown")
check("clock is unix time", board.trusted(), board.now())

if failures:
    raise SystemExit(1)
print("ok test_schedule")
