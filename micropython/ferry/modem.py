# ferry/modem.py: a cellular modem in AT commands over a UART (issue #17),
# the board's copy of the Linux agent's internal/modem:
#
#   AT+CEREG? / AT+CREG?   registration (LTE, 2G/3G): home, roaming, searching, denied
#   AT+CSQ                 signal quality: RSSI 0-31 (-113 to -51 dBm), 99 unknown
#   AT+COPS?               the operator's name
#
# Every command has a deadline (3 s). A modem that answers slowly, not at all,
# with "NO CARRIER", "ERROR" or "+CME ERROR", or with garbage between its lines
# (unsolicited result codes, echo, line noise: bytes outside printable ASCII
# are dropped) fails that command with a ModemError saying so (.code:
# "timeout", "command", "no-carrier", "parse", "not-registered"); it never
# blocks the board past the deadline. The UART is anything with write(b),
# any() and read(n) (machine.UART; tests use a fake with a fake clock).

import time

TIMEOUT_MS = 3000
MAX_LINE = 256  # bytes of one answer line kept; the rest is dropped
MAX_LINES = 32  # lines of one answer kept

REG_NOT_SEARCHING, REG_HOME, REG_SEARCHING, REG_DENIED, REG_UNKNOWN, REG_ROAMING = 0, 1, 2, 3, 4, 5
_REG_NAMES = {0: "not registered", 1: "registered (home)", 2: "searching", 3: "registration denied",
              5: "registered (roaming)"}


class ModemError(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def reg_name(stat):
    return _REG_NAMES.get(stat, "registration unknown")


def registered(stat):
    return stat in (REG_HOME, REG_ROAMING)


def dbm(rssi):
    # dBm of a CSQ RSSI, or None for 99 (unknown).
    return -113 + 2 * rssi if 0 <= rssi <= 31 else None


class Conn:
    def __init__(self, uart, timeout_ms=TIMEOUT_MS, ticks_ms=None, sleep_ms=None):
        self.uart = uart
        self.timeout_ms = timeout_ms
        self.ticks = ticks_ms or time.ticks_ms
        self.sleep = sleep_ms or time.sleep_ms
        self.buf = bytearray()

    def _drain(self):
        # Drop what arrived between commands (unsolicited result codes).
        while self.uart.any():
            if not self.uart.read(self.uart.any()):
                break
        self.buf = bytearray()

    def _line(self):
        # The next complete line, or None.
        for i in range(len(self.buf)):
            if self.buf[i] in (10, 13):
                raw, self.buf = self.buf[:i], self.buf[i + 1:]
                s = "".join(chr(b) for b in raw[:MAX_LINE] if 32 <= b < 127).strip()
                if s:
                    return s
                return self._line()
        if len(self.buf) > MAX_LINE * 4:
            self.buf = bytearray()  # a flood with no line end
        return None

    def command(self, cmd, timeout_ms=None):
        # Send cmd and return the lines of its answer up to OK (echo dropped).
        t = self.timeout_ms if timeout_ms is None else timeout_ms
        self._drain()
        self.uart.write(cmd.encode() + b"\r\n")
        start = self.ticks()
        lines = []
        while True:
            s = self._line()
            if s is None:
                if time.ticks_diff(self.ticks(), start) >= t:
                    raise ModemError("timeout", "modem: no answer in time to %s (%d ms)" % (cmd, t))
                n = self.uart.any()
                if n:
                    self.buf += self.uart.read(n) or b""
                else:
                    self.sleep(10)
                continue
            if s == cmd:
                continue  # echo
            if s == "OK" or s.startswith("CONNECT"):  # CONNECT: a dial succeeded
                return lines
            if s == "ERROR" or s.startswith("+CME ERROR") or s.startswith("+CMS ERROR"):
                raise ModemError("command", "modem: command failed: %s: %s" % (cmd, s))
            if s == "NO CARRIER":
                raise ModemError("no-carrier", "modem: no carrier: %s" % cmd)
            if len(lines) < MAX_LINES:
                lines.append(s)


def _field(lines, prefix):
    # The text after "prefix:" on the first line that has it, anywhere in
    # the line (garbage before it is skipped), or None.
    for ln in lines:
        i = ln.find(prefix + ":")
        if i >= 0:
            return ln[i + len(prefix) + 1:].strip()
    return None


def _ints(s):
    out = []
    for f in s.split(","):
        f = f.strip().strip('"')
        neg = f.startswith("-")
        d = f[1:] if neg else f
        if not d or not d.isdigit():
            break
        out.append(-int(d) if neg else int(d))
    return out


def _parse_err(what, lines):
    return ModemError("parse", "modem: unparsable answer: no %s in %r" % (what, "|".join(lines)))


def parse_reg(lines, prefix):
    # <stat> of a +CREG?/+CEREG? answer ("+CREG: 0,1"; unsolicited "+CREG: 1").
    v = _field(lines, prefix)
    if v is None:
        raise _parse_err(prefix, lines)
    n = _ints(v)
    if len(n) >= 2:
        stat = n[1]
    elif len(n) == 1:
        stat = n[0]
    else:
        raise ModemError("parse", "modem: unparsable answer: %s %r" % (prefix, v))
    if not 0 <= stat <= 10:
        raise ModemError("parse", "modem: unparsable answer: %s state %d" % (prefix, stat))
    return stat


def parse_csq(lines):
    v = _field(lines, "+CSQ")
    if v is None:
        raise _parse_err("+CSQ", lines)
    n = _ints(v)
    if not n or n[0] < 0 or (n[0] > 31 and n[0] != 99):
        raise ModemError("parse", "modem: unparsable answer: +CSQ %r" % v)
    return n[0]


def parse_cops(lines):
    # The operator of a +COPS? answer, "" when the modem has none.
    v = _field(lines, "+COPS")
    if v is None:
        raise _parse_err("+COPS", lines)
    i = v.find('"')
    if i < 0:
        return ""
    j = v.find('"', i + 1)
    if j < 0:
        raise ModemError("parse", "modem: unparsable answer: +COPS %r: unterminated name" % v)
    return v[i + 1:j]


class Status:
    def __init__(self, reg=REG_UNKNOWN, rssi=99, operator=""):
        self.reg, self.rssi, self.operator = reg, rssi, operator

    def signal(self):
        d = dbm(self.rssi)
        return "CSQ %d (%s)" % (self.rssi, "unknown" if d is None else "%d dBm" % d)

    def __str__(self):
        parts = [self.signal(), reg_name(self.reg)]
        if self.operator:
            parts.append(self.operator)
        return ", ".join(parts)


def registration(c):
    # The better of +CEREG and +CREG (an LTE modem may say "searching" to
    # +CREG; a 2G/3G one has no +CEREG); denied wins over other failures.
    best, errs = -1, []
    for cmd, prefix in (("AT+CEREG?", "+CEREG"), ("AT+CREG?", "+CREG")):
        try:
            stat = parse_reg(c.command(cmd), prefix)
        except ModemError as e:
            errs.append(e)
            continue
        if registered(stat):
            return stat
        if best < 0 or stat == REG_DENIED:
            best = stat
    if best < 0:
        raise ModemError(errs[0].code, "; ".join(str(e) for e in errs))
    return best


def query(c):
    # The modem's registration, signal and operator. Not registered: a
    # ModemError "not-registered" whose .status is what it has.
    s = Status()
    s.reg = registration(c)
    s.rssi = parse_csq(c.command("AT+CSQ"))
    try:
        s.operator = parse_cops(c.command("AT+COPS?"))
    except ModemError:
        pass  # the operator's name is a nicety
    if not registered(s.reg):
        e = ModemError("not-registered", "modem: not registered: %s (%s)" % (reg_name(s.reg), s.signal()))
        e.status = s
        raise e
    return s
