# ferry/schedule.py: when ferry.run() may check for an update, and why not.
# The rules of `ferry-agent run` (internal/agent/schedule), on a board:
#
#  1. Crash backoff: a watchdog reset that Ferry did not ask for
#     (machine.reset_cause()) counts as a crash; after
#     max_crashes_before_delay of them, checks wait crash_delay_sec after the
#     latest. A check that runs to its end clears the count.
#  2. Minimum interval: never two checks closer than min_update_interval_sec,
#     across reboots (the time of the last check is update's last-check
#     record, which a check writes anyway).
#  3. Poll interval: check_interval_sec apart, each stretched or shrunk by a
#     uniform jitter of +-10%; a board that never checked checks at once.
#  4. Window: update_window_start_hour/end_hour in local time
#     (UTC + utc_offset_min), [start, end), across midnight when start > end;
#     with power_source "solar" the solar window (default 10 to 16) replaces
#     it. Windows need a set clock: with none, checks wait (fail closed).
#  5. LoRa trigger (issue #17): check_soon() makes the next check due now
#     (a downlink announced a newer release); rules 1, 2, 4 and 5 still hold.
#     One that comes during a check is not lost: checked() keeps it due.
#  6. Battery: with min_battery_percent > 0, the charge from the function
#     given to run(battery=...), else from battery_adc_pin; unreadable defers.
#
# Times are unix seconds (board.now()). State is written only when it changes.

import random

from ferry import board, records

STATE = "schedule.json"
INTENDED = "reset-intended"  # written before Ferry resets the board itself
JITTER = 0.1
BATTERY_RETRY = 900
NOT_DUE = "next check not due yet"


def window_contains(start, end, hour):
    if start == end:
        return True
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def window_next_open(start, end, t, offset_s):
    # t if inside the window, else the next start:00 in local time.
    local = t + offset_s
    hour = (local // 3600) % 24
    if window_contains(start, end, hour):
        return t
    day = local - local % 86400
    opens = day + start * 3600
    if opens <= local:
        opens += 86400
    return opens - offset_s


class Schedule:
    def __init__(self, cfg, battery=None, rand=None):
        self.cfg = cfg
        self.battery = battery
        self.rand = rand or random.random
        self.st = records.read_json(cfg.state, STATE) or {}
        self.next = None
        self.soon = False  # a check_soon() came since the current check began

    def start(self, t, last_check):
        # Count the reset that started this boot, and plan the first check.
        self.notice_reset(board.reset_cause(), t)
        c = self.cfg.check_interval_sec
        if not last_check:
            self.next = t
        else:
            self.next = last_check + self.jittered()
            if self.next < t:
                # Overdue (after a site-wide outage): spread the fleet.
                self.next = t + int(self.rand() * JITTER * c)

    def notice_reset(self, cause, t):
        intended = records.exists(self.cfg.state, INTENDED)
        if intended:
            records.remove(self.cfg.state, INTENDED)
        if cause == "watchdog" and not intended:
            self.st["crashes"] = self.st.get("crashes", 0) + 1
            self.st["crash_at"] = t
            self.st["cause"] = "watchdog reset"
            records.write_json(self.cfg.state, STATE, self.st)

    def crashes(self):
        return self.st.get("crashes", 0), self.st.get("cause", "")

    def jittered(self):
        c = self.cfg.check_interval_sec
        return int(c * (1 + JITTER * (2 * self.rand() - 1)))

    def window(self):
        c = self.cfg
        if c.power_source == "solar":
            if c.solar_window_start_hour is None:
                return 10, 16, "solar"
            return c.solar_window_start_hour, c.solar_window_end_hour, "solar"
        if c.update_window_start_hour is None:
            return None
        return c.update_window_start_hour, c.update_window_end_hour, "update"

    def time_gate(self, last_check):
        until, why = self.next, NOT_DUE
        c = self.cfg
        if c.min_update_interval_sec and last_check:
            t = last_check + c.min_update_interval_sec
            if t > until:
                until, why = t, "min_update_interval_sec: last check at %d" % last_check
        n = self.st.get("crashes", 0)
        if c.max_crashes_before_delay and n >= c.max_crashes_before_delay:
            t = self.st.get("crash_at", 0) + c.crash_delay_sec
            if t > until:
                until, why = t, "crash backoff: %d crashes (last: %s), max_crashes_before_delay is %d" % (
                    n, self.st.get("cause", ""), c.max_crashes_before_delay)
        return until, why

    def decide(self, t, last_check, clock_ok=True):
        # (ok, reason, next): whether a check may run at t; if not, why
        # and the earliest time worth asking again.
        until, why = self.time_gate(last_check)
        w = self.window()
        off = self.cfg.utc_offset_min * 60
        if until > t:
            return False, why, window_next_open(w[0], w[1], until, off) if w and clock_ok else until
        if w:
            if not clock_ok:
                return False, "clock not set: the %s window needs the time (ntptime.settime())" % w[2], t + 600
            if not window_contains(w[0], w[1], ((t + off) // 3600) % 24):
                return False, "outside the %s window %02d:00-%02d:00 (local time)" % (w[2], w[0], w[1]), \
                    window_next_open(w[0], w[1], t, off)
        ok, why = self.battery_gate()
        if not ok:
            nxt = t + BATTERY_RETRY
            return False, why, window_next_open(w[0], w[1], nxt, off) if w and clock_ok else nxt
        return True, "due", t

    def battery_gate(self):
        c = self.cfg
        if c.min_battery_percent <= 0:
            return True, ""
        try:
            if self.battery is not None:
                p = int(self.battery())
            elif c.battery_adc_pin is not None:
                p = board.battery_percent(c.battery_adc_pin, c.battery_divider, c.battery_empty_mv, c.battery_full_mv)
            else:
                return False, "battery: min_battery_percent is set but there is no battery_adc_pin or run(battery=...)"
        except Exception as e:  # the user's function: any failure defers
            return False, "battery: unreadable (%s)" % e
        if p < c.min_battery_percent:
            return False, "battery at %d%%, below min_battery_percent %d" % (p, c.min_battery_percent)
        return True, ""

    def check_soon(self, t):
        # A LoRa trigger at t (internal/agent/schedule CheckSoon): the next
        # check is due at t; the gates of decide() still hold.
        if self.next is None or t < self.next:
            self.next = t
        self.soon = True

    def begin(self):
        # A check begins: it answers the triggers that came before it.
        self.soon = False

    def checked(self, t):
        # A check ran to its end at t: plan the next (at once for a trigger
        # that came during it), clear the crash count.
        self.next = t if self.soon else t + self.jittered()
        self.soon = False
        if self.st.get("crashes"):
            self.st = {}
            records.write_json(self.cfg.state, STATE, self.st)


def intend_reset(cfg):
    # Mark the coming machine.reset() as Ferry's own, not a crash.
    records.write(cfg.state, INTENDED, b"1\n")
