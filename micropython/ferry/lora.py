# ferry/lora.py: a LoRa module on a UART as a trigger, never a data path
# (issue #17; the board's copy of the Linux agent's internal/lora).
#
# The downlink (the format of internal/lora, with its compatibility promise):
# "FS" and the channel's new sequence, in binary (the hex payload of RUI3's
# "+EVT:RX_...:<hex>" and LoRa-E5's `+MSG: ... RX: "<hex>"`) as 8 bytes
# big-endian, 10 bytes in all (extra bytes after them are ignored); in text
# (Reyax's "+RCV=<addr>,<len>,<text>,<rssi>,<snr>") as decimal digits, "FS42".
# Any other line is ignored. A downlink with a sequence newer than the
# installed one makes the next check due now (over the data links); triggers
# are rate-limited (one per MIN_INTERVAL_SEC; the schedule still holds), so a
# forged one costs at most one check, which verifies everything.
#
# The status uplink (sent only when no data link is up), 11 bytes, which fit
# the smallest LoRaWAN payload of every region (US915 DR0):
#
#   "FU"           2 bytes, magic (Ferry, uplink), format 1
#   result code    1 byte: 0 never checked, 1 updated, 2 up to date,
#                  3 deferred, 4 error, 5 rolled back
#   sequence       8 bytes big-endian: the installed release's sequence
#                  (0: none), which names its version in the channel
#   version        optional: the installed version's ASCII bytes, appended
#                  only up to the module's max payload (max_len > 11)
#
# A later format may append fields; readers must ignore what follows.
# Sent as AT commands: RUI3 "AT+SEND=<port>:<hex>", LoRa-E5
# `AT+MSGHEX="<hex>"`, Reyax "AT+SEND=0,<len>,<text>" (text: the hex).

from binascii import hexlify, unhexlify

MAGIC = b"FS"
UP_MAGIC = b"FU"
MIN_INTERVAL_SEC = 600
PORT = 2  # the LoRaWAN FPort of the status uplink
RESULTS = {"never": 0, "updated": 1, "up-to-date": 2, "deferred": 3, "error": 4, "rolled-back": 5}


def _binary(h):
    try:
        b = unhexlify(h.strip())
    except ValueError:
        return None
    if len(b) < 10 or b[:2] != MAGIC:
        return None
    return int.from_bytes(b[2:10], "big")


def _text(s):
    if not s.startswith("FS"):
        return None
    d = s[2:]
    if not d or not d.isdigit() or len(d) > 20:
        return None
    n = int(d)
    return n if n < (1 << 64) else None


def parse_downlink(line):
    # The sequence a module's line announces, or None for any other line.
    if line.startswith("+EVT:RX"):
        return _binary(line[line.rfind(":") + 1:])
    if line.startswith("+MSG:") or line.startswith("+CMSG:"):
        i = line.find('RX: "')
        if i < 0:
            return None
        j = line.find('"', i + 5)
        return None if j < 0 else _binary(line[i + 5:j])
    if line.startswith("+RCV="):
        f = line[5:].split(",")
        if len(f) < 5:
            return None
        return _text(",".join(f[2:len(f) - 2]))
    return None


def status_payload(result, sequence, version="", max_len=11):
    # The uplink's bytes (see above).
    p = UP_MAGIC + bytes((RESULTS.get(result, 4),)) + (sequence & ((1 << 64) - 1)).to_bytes(8, "big")
    room = max_len - len(p)
    if room > 0 and version:
        p += version.encode()[:room]
    return p


def uplink_command(module, payload):
    h = hexlify(payload).decode().upper()
    if module == "e5":
        return 'AT+MSGHEX="%s"' % h
    if module == "reyax":
        return "AT+SEND=0,%d,%s" % (len(h), h)
    return "AT+SEND=%d:%s" % (PORT, h)


class Listener:
    # Turns the module's lines into triggers. installed(): the installed
    # sequence; now(): seconds.
    def __init__(self, installed, now, min_interval=MIN_INTERVAL_SEC, log=None):
        self.installed = installed
        self.now = now
        self.min = min_interval
        self.log = log or (lambda *a: None)
        self.last = None
        self.last_seq = 0
        self.buf = bytearray()

    def accept(self, seq):
        # Why a trigger for seq is ignored, or "" (and it is recorded).
        now = self.now()
        recent = self.last is not None and now - self.last < self.min
        if seq <= self.installed():
            return "not newer than the installed release"
        if seq <= self.last_seq and recent:
            return "already triggered"
        if recent:
            return "rate limited: the last trigger was less than %ds ago" % self.min
        self.last, self.last_seq = now, seq
        return ""

    def line(self, s):
        # The sequence to check now for, or None.
        seq = parse_downlink(s)
        if seq is None:
            return None
        why = self.accept(seq)
        if why:
            self.log("lora downlink ignored", seq, why)
            return None
        self.log("lora downlink: a newer release is out, checking now", seq)
        return seq

    def poll(self, uart):
        # Read what the UART holds (never blocks); the newest accepted
        # sequence, or None.
        n = uart.any()
        if n:
            self.buf += uart.read(n) or b""
        got = None
        while True:
            i = -1
            for k in range(len(self.buf)):
                if self.buf[k] in (10, 13):
                    i = k
                    break
            if i < 0:
                if len(self.buf) > 512:
                    self.buf = bytearray()
                return got
            raw, self.buf = self.buf[:i], self.buf[i + 1:]
            s = "".join(chr(b) for b in raw if 32 <= b < 127).strip()
            if s:
                seq = self.line(s)
                if seq is not None:
                    got = seq


LISTEN_MS = 1000  # ferry.run() polls the module this often while it waits
RXBUF = 1024  # the UART's receive buffer: holds a downlink that comes during a check
UPLINK_MIN_SEC = 3600  # at most one status uplink an hour (duty cycle, fair-use airtime)
UART = None  # tests: a factory transport -> UART-like object; None: machine.UART


_open = None  # the UART ferry.run() listens on (listen()); the uplink shares it


def open_uart(t):
    # The UART of the lora transport t (uart, baud, tx, rx).
    if _open is not None:
        return _open
    if UART is not None:
        return UART(t)
    import machine
    kw = {"baudrate": t.baud, "rxbuf": RXBUF}
    if t.tx is not None:
        kw["tx"], kw["rx"] = t.tx, t.rx
    return machine.UART(t.uart, **kw)


def listen(t, installed, now, log=None):
    # ferry.run()'s ear: (Listener, UART) on lora transport t, the UART
    # kept open for the status uplink too. Raises the port's OSError.
    global _open
    _open = open_uart(t)
    return Listener(installed, now, log=log), _open


def send_status(uart, module, result, sequence, version="", max_len=11):
    # Write the status uplink's AT command; returns the payload sent.
    p = status_payload(result, sequence, version, max_len)
    uart.write(uplink_command(module, p).encode() + b"\r\n")
    return p
