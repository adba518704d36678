# Tests of ferry.modem and the cellular driver of ferry.linkup (issue #17)
# against a fake UART that emulates a modem: registered, registration refused,
# no carrier, slow answers, garbage. Real MicroPython:
# node micropython/runner/exec.mjs micropython/tests/test_links_modem.py
from ferry import links, linkup, modem

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


class Clock:
    def __init__(self):
        self.t = 0

    def ticks(self):
        return self.t

    def sleep(self, ms):
        self.t += ms


def registered():
    # command -> (answer lines, delay in ms); the answer of a modem on a network.
    return {
        "AT+CEREG?": (["+CEREG: 0,1", "OK"], 5),
        "AT+CREG?": (["+CREG: 0,1", "OK"], 5),
        "AT+CSQ": (["+CSQ: 17,99", "OK"], 5),
        "AT+COPS?": (['+COPS: 0,0,"Ferry Mobile",7', "OK"], 5),
        'AT+CGDCONT=1,"IP","iot"': (["OK"], 5),
        "ATD*99#": (["CONNECT 150000000"], 50),
    }


class FakeUART:
    # Answers each written command after its delay on the fake clock, with
    # the command's echo first; unknown commands get ERROR; urc is sent
    # before every answer (unsolicited codes, noise).
    def __init__(self, clock, script, urc=b""):
        self.clock, self.script, self.urc = clock, script, urc
        self.pending = []  # (time, bytes)
        self.written = []

    def write(self, b):
        cmd = bytes(b).decode().strip()
        self.written.append(cmd)
        lines, delay = self.script.get(cmd, (["ERROR"], 5))
        if lines is None:
            return len(b)  # never answers
        out = self.urc + cmd.encode() + b"\r\r\n" + b"".join(
            (ln if isinstance(ln, bytes) else ln.encode()) + b"\r\n" for ln in lines)
        self.pending.append((self.clock.t + delay, out))
        return len(b)

    def _ready(self):
        return b"".join(d for t, d in self.pending if t <= self.clock.t)

    def any(self):
        return len(self._ready())

    def read(self, n):
        data = self._ready()[:n]
        left, k = [], len(data)
        for t, d in self.pending:  # consume k bytes of the ready ones
            if t <= self.clock.t and k:
                take = min(k, len(d))
                d, k = d[take:], k - take
            if d:
                left.append((t, d))
        self.pending = left
        return data or None


def conn(script, urc=b""):
    c = Clock()
    u = FakeUART(c, script, urc)
    return modem.Conn(u, ticks_ms=c.ticks, sleep_ms=c.sleep), u, c


# Registered: the status line of internal/modem.
c, u, _ = conn(registered())
s = modem.query(c)
check("registered status", str(s) == "CSQ 17 (-79 dBm), registered (home), Ferry Mobile", str(s))

# Registration refused on both: not-registered, with the status.
sc = registered()
sc["AT+CEREG?"] = (["+CEREG: 0,3", "OK"], 5)
sc["AT+CREG?"] = (["+CREG: 0,3", "OK"], 5)
c, _, _ = conn(sc)
try:
    modem.query(c)
    check("refused raises", False)
except modem.ModemError as e:
    check("refused: not registered", e.code == "not-registered" and "registration denied" in str(e), str(e))
    check("refused: status kept", e.status.rssi == 17)

# LTE searching on CEREG but registered on CREG: registered.
sc = registered()
sc["AT+CEREG?"] = (["+CEREG: 0,2", "OK"], 5)
c, _, _ = conn(sc)
check("better of CEREG and CREG", modem.query(c).reg == modem.REG_HOME)

# A 2G modem with no +CEREG (ERROR): +CREG decides.
sc = registered()
del sc["AT+CEREG?"]
c, _, _ = conn(sc)
check("no CEREG: CREG", modem.query(c).reg == modem.REG_HOME)

# Slow answers: within the deadline they are waited for; past it, a timeout.
sc = registered()
sc["AT+CSQ"] = (["+CSQ: 20,0", "OK"], 2500)
c, _, clk = conn(sc)
check("slow answer waited for", modem.query(c).rssi == 20)
sc["AT+CSQ"] = (["+CSQ: 20,0", "OK"], 3500)
c, _, clk = conn(sc)
try:
    modem.query(c)
    check("too slow raises", False)
except modem.ModemError as e:
    check("too slow: timeout", e.code == "timeout" and "AT+CSQ" in str(e), str(e))
    check("the deadline holds", 3000 <= clk.t < 3200, clk.t)
sc["AT+CEREG?"] = sc["AT+CREG?"] = (None, 0)
c, _, clk = conn(sc)
try:
    modem.query(c)
    check("silent modem raises", False)
except modem.ModemError as e:
    check("silent modem: timeout on both", e.code == "timeout" and "AT+CREG?" in str(e), str(e))

# NO CARRIER, +CME ERROR.
sc = registered()
sc["AT+CSQ"] = (["NO CARRIER"], 5)
c, _, _ = conn(sc)
try:
    modem.query(c)
    check("no carrier raises", False)
except modem.ModemError as e:
    check("no carrier", e.code == "no-carrier", str(e))
sc["AT+CSQ"] = (["+CME ERROR: 10"], 5)
c, _, _ = conn(sc)
try:
    modem.query(c)
    check("CME raises", False)
except modem.ModemError as e:
    check("CME ERROR", e.code == "command" and "+CME ERROR: 10" in str(e), str(e))

# Garbage: noise and unsolicited codes between lines are skipped; a +CSQ
# that is garbage is a parse error (as on Linux).
sc = registered()
sc["AT+CSQ"] = ([b"\x01\x02\xff", b"\x00junk +CSQ: 9,99\xfe", "OK"], 5)
c, _, _ = conn(sc, urc=b"\r\n+CEREG: 5\r\n\xff\xfe\r\nRING\r\n")
s = modem.query(c)
check("garbage around answers", s.rssi == 9 and modem.registered(s.reg), str(s))
sc["AT+CSQ"] = ([b"\x01\x02", "OK"], 5)
c, _, _ = conn(sc)
try:
    modem.query(c)
    check("garbage CSQ raises", False)
except modem.ModemError as e:
    check("garbage CSQ: parse", e.code == "parse" and str(e).startswith("modem: unparsable answer"), str(e))
sc = registered()
sc["AT+CSQ"] = ([b"x" * 5000, "+CSQ: 12,0", "OK"], 5)
c, _, _ = conn(sc)
check("an endless line is cut", modem.query(c).rssi == 12)

# Parsers on odd input (untrusted bytes): errors, never other exceptions.
for lines in (["+CREG: "], ["+CREG: 0,77"], ["+CREG: x"], ["+CREG:"], []):
    try:
        modem.parse_reg(lines, "+CREG")
        check("parse_reg refuses %r" % lines, False)
    except modem.ModemError:
        pass
check("unsolicited +CREG: 5", modem.parse_reg(["+CREG: 5"], "+CREG") == 5)
check("CSQ 99 unknown", modem.Status(1, 99).signal() == "CSQ 99 (unknown)")
check("COPS without a name", modem.parse_cops(["+COPS: 0"]) == "")
c, _, _ = conn(dict(registered(), **{"AT+COPS?": ([b'+COPS: 0,0,"Fe\x01rry\x9b",7', "OK"], 5)}))
check("control bytes dropped from the operator", modem.query(c).operator == "Ferry", modem.query(c).operator)
for lines in (["+CSQ: 32,0"], ["+CSQ: -1,0"], ['+COPS: 0,0,"abc']):
    try:
        (modem.parse_cops if "COPS" in lines[0] else modem.parse_csq)(lines)
        check("refuses %r" % lines, False)
    except modem.ModemError:
        pass


# The cellular driver: registered -> dial -> PPP up; refused -> down.
class FakePPP:
    def __init__(self, uart, up=True):
        self.uart, self.up, self.calls = uart, up, []

    def active(self, on):
        self.calls.append("active")

    def connect(self):
        self.calls.append("connect")

    def isconnected(self):
        return self.up


T = links.parse({"transport": [{"name": "cellular", "kind": "cellular", "cost_per_mb": 0.5, "uart": 1, "apn": "iot"}]}).transports[0]
made = []


def ppp(uart):
    p = FakePPP(uart)
    made.append(p)
    return p


c, u, _ = conn(registered())
drv = linkup.Cellular(uart=u, ppp=ppp, conn=c)
st = drv.probe(T)
check("cellular up over PPP", st.up and st.signal.startswith("CSQ 17 (-79 dBm)"), (st.why, st.signal))
check("apn set, then dialled", u.written[-2:] == ['AT+CGDCONT=1,"IP","iot"', "ATD*99#"], u.written)
check("PPP on the modem's UART", made and made[0].uart is u and made[0].calls == ["active", "connect"])
sc = registered()
sc["AT+CEREG?"] = sc["AT+CREG?"] = (["+CREG: 0,3", "OK"], 5)
c, u, _ = conn(sc)
st = linkup.Cellular(uart=u, ppp=ppp, conn=c).probe(T)
check("refused modem takes the link down", not st.up and "registration denied" in st.why, st.why)
sc = registered()
sc["ATD*99#"] = (["NO CARRIER"], 5)
c, u, _ = conn(sc)
st = linkup.Cellular(uart=u, ppp=ppp, conn=c).probe(T)
check("dial without carrier: down", not st.up and "no carrier" in st.why, st.why)
sc = registered()
sc["AT+CSQ"] = ([b"\x01\x02", "OK"], 5)
c, u, _ = conn(sc)
st = linkup.Cellular(uart=u, ppp=ppp, conn=c).probe(T)
check("garbage signal: up, signal unknown", st.up and st.signal.startswith("unknown: modem: unparsable answer"), st.signal)

# A Manager over the cellular driver: refused -> the next link (cable).
P = links.parse({"max_wait_for_free_hours": 0, "transport": [
    {"name": "cellular", "kind": "cellular", "cost_per_mb": 0.5, "uart": 1, "up_timeout_sec": 0},
    {"name": "cable", "kind": "ethernet", "cost_per_mb": 0.9, "up_timeout_sec": 0}]})
sc = registered()
sc["AT+CEREG?"] = sc["AT+CREG?"] = (["+CEREG: 0,3", "OK"], 5)
c, u, _ = conn(sc)


class Net:
    class LAN:
        def active(self, on):
            pass

        def isconnected(self):
            return True


m = links.Manager(P, None, {"cellular": linkup.Cellular(uart=u, ppp=ppp, conn=c).probe,
                            "ethernet": lambda t: linkup.lan(t, Net)}, lambda: 0, lambda ms: None)
cy = m.begin()
check("refused cellular: the cable is used", cy.name() == "cable" and "registration denied" in cy.states[0].why,
      (cy.name(), cy.states[0].why))

# The wifi driver over a fake network module: connects once, then polls.
class WNet:
    STA_IF = 0
    log = []

    class WLAN:
        def __init__(self, i):
            self.n = 0

        def active(self, on):
            WNet.log.append("active")

        def isconnected(self):
            self.n += 1
            return self.n > 2

        def connect(self, ssid, pw):
            WNet.log.append("connect %s %s" % (ssid, pw))

        def status(self, what):
            return -61


W = links.parse({"transport": [{"name": "wifi", "kind": "wifi", "ssid": "farm", "password": "pw"}]}).transports[0]
w = linkup.Wifi(WNet)
st = w.probe(W)
check("wifi: not yet", not st.up and st.why == "not connected to farm", st.why)
st = w.probe(W)
check("wifi: up with RSSI", st.up and st.signal == "RSSI -61 dBm", (st.why, st.signal))
check("wifi: connected once", WNet.log == ["active", "connect farm pw"], WNet.log)
check("no network module: down", not linkup.Wifi(object()).probe(W).up)

if failures:
    raise SystemExit(1)
print("ok test_links_modem")
