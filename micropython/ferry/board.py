# ferry/board.py: what Ferry uses of the board itself: the watchdog, the
# status LED, the reset cause, the unique id, the battery and the clock.
# Every part is optional: without `machine` (the PC runner) the watchdog and
# the LED do nothing, the reset cause is "unknown" and the unique id is None.

import time

try:
    import machine
except ImportError:
    machine = None

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# Seconds from 1970 to the port's epoch (2000 on some ports).
EPOCH = 0 if time.gmtime(0)[0] == 1970 else 946684800
# A wall clock before this (2026-01-01) was never set: the RP2040 boots at
# 2021-01-01 until ntptime or the application sets it.
CLOCK_FLOOR = const(1767225600)


def now():
    # Unix seconds from the board's clock (which may not be set: trusted()).
    return int(time.time()) + EPOCH


def gmtime(t):
    # time.gmtime of unix seconds t, whatever the port's epoch.
    return time.gmtime(t - EPOCH)


def trusted(t=None):
    # Whether the wall clock looks set.
    return (now() if t is None else t) >= CLOCK_FLOOR


# LED patterns, as the Linux agent's (internal/agent/led): on/off times in ms
# repeated. idle: a blip every 5 s; checking: slow blink; downloading: fast
# blink; installing: steady on (do not cut the power); error: three short
# blips and a pause; success: two long pulses.
PATTERNS = {
    "idle": (50, 4950),
    "checking": (500, 500),
    "downloading": (100, 100),
    "installing": (1000, 0),
    "error": (100, 200, 100, 200, 100, 1300),
    "success": (600, 300, 600, 1500),
    "off": (0, 1000),
}


class Board:
    # The board's watchdog and LED. feed() is called through every long
    # step (each chunk of a download, each signature check); it feeds the
    # watchdog and steps the LED pattern, so no timer or thread is needed.

    def __init__(self, wdt=None, led=None):
        self.wdt = wdt
        self.pin = None
        self.pattern = PATTERNS["off"]
        self.start = time.ticks_ms()
        if led and machine is not None:
            try:
                self.pin = machine.Pin(led, machine.Pin.OUT)
            except (ValueError, TypeError, OSError):
                self.pin = None

    def watchdog(self, timeout_ms):
        # Start the hardware watchdog (it cannot be stopped again on most
        # ports: the caller must keep feeding it).
        if machine is not None and timeout_ms and self.wdt is None:
            self.wdt = machine.WDT(timeout=timeout_ms)
        return self.wdt

    def led(self, state):
        self.pattern = PATTERNS.get(state, PATTERNS["off"])
        self.start = time.ticks_ms()
        self._show()

    def feed(self, *_):
        if self.wdt is not None:
            self.wdt.feed()
        self._show()

    def _show(self):
        if self.pin is None:
            return
        pat = self.pattern
        period = sum(pat)
        t = time.ticks_diff(time.ticks_ms(), self.start) % period
        on = True
        for d in pat:
            if t < d:
                break
            t -= d
            on = not on
        self.pin.value(1 if on else 0)

    def sleep_ms(self, ms):
        # Sleep, feeding the watchdog and the LED every 100 ms.
        end = time.ticks_add(time.ticks_ms(), ms)
        while True:
            left = time.ticks_diff(end, time.ticks_ms())
            if left <= 0:
                return
            self.feed()
            time.sleep_ms(min(left, 100))


def reset_cause():
    # "power on", "watchdog", "hard reset", "soft reset", "deep sleep" or
    # "unknown" (no machine module, or a cause this port does not name).
    if machine is None:
        return "unknown"
    try:
        c = machine.reset_cause()
    except (AttributeError, OSError):
        return "unknown"
    for name, text in (("PWRON_RESET", "power on"), ("WDT_RESET", "watchdog"), ("HARD_RESET", "hard reset"),
                       ("SOFT_RESET", "soft reset"), ("DEEPSLEEP_RESET", "deep sleep")):
        if getattr(machine, name, None) == c:
            return text
    return "unknown"


def unique_id():
    # The board's unique id in hex, or None.
    if machine is None or not hasattr(machine, "unique_id"):
        return None
    try:
        import binascii
        return binascii.hexlify(machine.unique_id()).decode()
    except OSError:
        return None


def battery_percent(pin, divider=3.0, empty_mv=3000, full_mv=4200):
    # The charge read from an ADC pin behind a voltage divider (the Pico W
    # reads VSYS/3 on GPIO 29; ADC 3), as a linear 0..100 between empty_mv
    # and full_mv. Raises OSError when there is no ADC.
    if machine is None:
        raise OSError("no machine.ADC on this port")
    raw = machine.ADC(pin).read_u16()
    mv = raw * 3300 * divider / 65535
    p = int((mv - empty_mv) * 100 / (full_mv - empty_mv))
    return 0 if p < 0 else 100 if p > 100 else p


def reset():
    if machine is not None:
        machine.reset()
