# Tests of ferry.lora (issue #17): the downlink format of internal/lora, the
# rate-limited trigger, the status uplink. Real MicroPython:
# node micropython/runner/exec.mjs micropython/tests/test_links_lora.py
from ferry import lora

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


# The cases of internal/lora's tests: the three modules, binary and text.
for line, want in (
        ("+EVT:RX_1:-70:8:UNICAST:1:4653000000000000002A", 42),
        ("+EVT:RX_1:-70:8:UNICAST:1:4653000000000000002aFFFF", 42),  # a later format's extra bytes
        ('+MSG: PORT: 1; RX: "4653000000000000002A"', 42),
        ('+CMSG: PORT: 1; RX: "46530000000000000100"', 256),
        ("+RCV=5,4,FS42,-40,11", 42),
        ("+RCV=5,4,FS42x,-40,11", None),  # text: extra fields refused
        ("+RCV=5,2,FS,-40,11", None),
        ("+RCV=5,4,FS42", None),
        ("+EVT:RX_1:-70:8:UNICAST:1:4654000000000000002A", None),  # not "FS"
        ("+EVT:RX_1:-70:8:UNICAST:1:46530000", None),  # short
        ("+EVT:RX_1:-70:8:UNICAST:1:zz", None),  # not hex
        ('+MSG: PORT: 1; RX: "4653000000000000002A', None),  # unterminated
        ("+EVT:JOINED", None),
        ("garbage \x7f", None),
        ("", None),
        ("+RCV=5,22,FS18446744073709551615,-40,11", 18446744073709551615),
        ("+RCV=5,22,FS18446744073709551616,-40,11", None),  # over 64 bits
):
    got = lora.parse_downlink(line)
    check("downlink %r" % line, got == want, got)


class Clock:
    t = 1000

    def now(self):
        return self.t


clk = Clock()
inst = [10]
log = []
li = lora.Listener(lambda: inst[0], clk.now, log=lambda *a: log.append(a))
check("older than installed: ignored", li.accept(10) == "not newer than the installed release")
check("newer: triggers", li.accept(11) == "")
check("same again: already triggered", li.accept(11) == "already triggered")
check("newer again soon: rate limited", li.accept(12).startswith("rate limited"))
clk.t += 600
check("after the interval: triggers", li.accept(12) == "")


class UART:
    def __init__(self, data=b""):
        self.data = bytearray(data)
        self.out = []

    def any(self):
        return len(self.data)

    def read(self, n):
        b, self.data = bytes(self.data[:n]), self.data[n:]
        return b

    def write(self, b):
        self.out.append(bytes(b))


clk.t += 600
u = UART(b"+EVT:JOINED\r\n\xff\xfe+EVT:RX_1:-70:8:UNICAST:1:465300000000000000")
check("partial line: nothing yet", li.poll(u) is None)
u.data += b"0D\r\n+EVT:RX_1:-70:8:UNICAST:1:4653000000000000000E\r\n"
check("poll: the first newer one triggers", li.poll(u) == 13, log)
check("poll: the next is rate limited", any("rate limited" in str(a) for a in log[-1:]), log)

# The status uplink: 11 bytes, the version appended only when room.
p = lora.status_payload("updated", 42)
check("uplink 11 bytes", p == b"FU\x01" + b"\x00" * 7 + b"\x2a", p)
check("uplink with version", lora.status_payload("deferred", 1, "1.4", 20) == b"FU\x03" + b"\x00" * 7 + b"\x01" + b"1.4")
check("unknown result is error", lora.status_payload("boom", 0)[2] == 4)
u = UART()
lora.send_status(u, "e5", "up-to-date", 7)
check("LoRa-E5 command", u.out == [b'AT+MSGHEX="46550200000000000000' + b'07"\r\n'], u.out)
check("RUI3 command", lora.uplink_command("rui3", b"FU") == "AT+SEND=2:4655")
check("Reyax command", lora.uplink_command("reyax", b"FU") == "AT+SEND=0,4,4655")

if failures:
    raise SystemExit(1)
print("ok test_links_lora")
