# Tests of ferry.sx127x (issue #17) against a register model of the radio
# behind a fake SPI bus: setup, a received "FS" packet, a CRC error, other
# payloads, sending the status uplink. Real MicroPython:
#   node micropython/runner/exec.mjs micropython/tests/test_links_sx127x.py
from ferry import lora, sx127x

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


class Chip:
    # The SX1276's registers over SPI: byte 0 is the address (bit 7: write),
    # byte 1 the value; the FIFO register walks the FIFO address pointer.
    def __init__(self, version=0x12):
        self.reg = bytearray(128)
        self.reg[0x42] = version
        self.fifo = bytearray(256)
        self.sent = []
        self.selected = False

    def access(self, addr, val, write):
        if addr == 0x00:
            p = self.reg[0x0D]
            self.reg[0x0D] = (p + 1) & 0xFF
            if write:
                self.fifo[p] = val
                return 0
            return self.fifo[p]
        if write:
            if addr == 0x12:
                self.reg[0x12] &= ~val & 0xFF  # write 1 to clear
            else:
                self.reg[addr] = val
                if addr == 0x01 and val & 0x07 == 0x03:  # TX: the packet goes out
                    self.sent.append(bytes(self.fifo[:self.reg[0x22]]))
                    self.reg[0x12] |= 0x08
            return 0
        return self.reg[addr]

    def arrive(self, payload, crc_error=False):
        at = 0x40
        self.fifo[at:at + len(payload)] = payload
        self.reg[0x10], self.reg[0x13] = at, len(payload)
        self.reg[0x12] |= 0x40 | (0x20 if crc_error else 0)


class SPI:
    def __init__(self, chip, cs):
        self.chip, self.cs = chip, cs

    def write(self, b):
        assert self.cs.v == 0, "write without chip select"
        self.chip.access(b[0] & 0x7F, b[1], b[0] & 0x80)

    def write_readinto(self, out, into):
        assert self.cs.v == 0, "read without chip select"
        into[1] = self.chip.access(out[0] & 0x7F, 0, False)


class Pin:
    v = 1

    def value(self, x):
        self.v = x


chip = Chip()
cs = Pin()
r = sx127x.Radio(SPI(chip, cs), cs, freq_hz=868100000, sf=9, sleep_ms=lambda ms: None)
frf = (chip.reg[6] << 16) | (chip.reg[7] << 8) | chip.reg[8]
check("frequency 868.1 MHz", frf == 0xD90666, hex(frf))
check("sf 9, CRC on", chip.reg[0x1E] == 0x94, hex(chip.reg[0x1E]))
check("bandwidth 125 kHz", chip.reg[0x1D] >> 4 == 7)
check("LoRa mode, standby", chip.reg[0x01] == 0x81, hex(chip.reg[0x01]))
r.receive()
check("continuous receive", chip.reg[0x01] == 0x85)
check("nothing received", r.poll_sequence() is None)
chip.arrive(b"FS" + (42).to_bytes(8, "big") + b"\x01\x02")
check("an FS packet", r.poll_sequence() == 42)
check("flags cleared", chip.reg[0x12] == 0 and r.poll() is None)
chip.arrive(b"FS" + (43).to_bytes(8, "big"), crc_error=True)
check("CRC error dropped", r.poll_sequence() is None)
chip.arrive(b"XX" + (44).to_bytes(8, "big"))
check("not ours", r.poll_sequence() is None)
chip.arrive(b"FS\x00")
check("short", r.poll_sequence() is None)
p = lora.status_payload("updated", 42)
r.send(p)
check("status sent", chip.sent == [p], chip.sent)
check("back to receive", chip.reg[0x01] == 0x85)
try:
    sx127x.Radio(SPI(Chip(0x00), cs), cs)
    check("wrong chip refused", False)
except sx127x.RadioError as e:
    check("wrong chip refused", "0x00" in str(e) and "wiring" in str(e), str(e))

if failures:
    raise SystemExit(1)
print("ok test_links_sx127x")
