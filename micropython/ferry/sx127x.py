# ferry/sx127x.py: an SX1276/77/78/79 (RFM95/96/98) radio over SPI as a LoRa
# trigger (issue #17), for boards with a bare radio instead of a UART AT
# module. A bare radio has no LoRaWAN stack, so it hears raw LoRa packets
# (point to point, from a site gateway or another node) whose payload is the
# binary downlink of lora.py: "FS" and the sequence as 8 bytes big-endian
# (extra bytes ignored), and it sends lora.py's status payload the same way.
# Packets with a CRC error are dropped. Nothing of a release comes over it.
#
#   r = sx127x.Radio(machine.SPI(0), machine.Pin(17, machine.Pin.OUT), freq_hz=868100000)
#   r.receive()                    # continuous receive
#   seq = r.poll_sequence()        # None, or the sequence of an "FS" packet
#   r.send(lora.status_payload("updated", 42))
#
# Registers (Semtech SX1276 datasheet, LoRa mode).

from micropython import const

_FIFO = const(0x00)
_OP_MODE = const(0x01)
_FRF_MSB = const(0x06)
_FIFO_ADDR_PTR = const(0x0D)
_FIFO_TX_BASE = const(0x0E)
_FIFO_RX_BASE = const(0x0F)
_FIFO_RX_CURRENT = const(0x10)
_IRQ_FLAGS = const(0x12)
_RX_NB_BYTES = const(0x13)
_MODEM_CONFIG1 = const(0x1D)
_MODEM_CONFIG2 = const(0x1E)
_PAYLOAD_LENGTH = const(0x22)
_SYNC_WORD = const(0x39)
_VERSION = const(0x42)

_LORA = const(0x80)
_SLEEP = const(0x00)
_STDBY = const(0x01)
_TX = const(0x03)
_RX_CONTINUOUS = const(0x05)

_IRQ_RX_DONE = const(0x40)
_IRQ_CRC_ERROR = const(0x20)
_IRQ_TX_DONE = const(0x08)

_BW = {7800: 0, 10400: 1, 15600: 2, 20800: 3, 31250: 4, 41700: 5, 62500: 6, 125000: 7, 250000: 8, 500000: 9}


class RadioError(OSError):
    pass


class Radio:
    def __init__(self, spi, cs, freq_hz=868100000, sf=7, bw_hz=125000, sync_word=0x12, sleep_ms=None):
        self.spi, self.cs = spi, cs
        self.buf = bytearray(2)
        if sleep_ms is None:
            import time
            sleep_ms = time.sleep_ms
        self.sleep_ms = sleep_ms
        cs.value(1)
        v = self.read(_VERSION)
        if v != 0x12:
            raise RadioError("sx127x: version register is 0x%02x, want 0x12: check the SPI wiring and cs pin" % v)
        if bw_hz not in _BW or not 6 <= sf <= 12:
            raise RadioError("sx127x: sf %d / bandwidth %d not supported" % (sf, bw_hz))
        self.mode(_SLEEP)  # LoRa mode can only be set asleep
        frf = (freq_hz << 19) // 32000000
        self.write(_FRF_MSB, frf >> 16)
        self.write(_FRF_MSB + 1, (frf >> 8) & 0xFF)
        self.write(_FRF_MSB + 2, frf & 0xFF)
        self.write(_MODEM_CONFIG1, (_BW[bw_hz] << 4) | 0x02)  # coding rate 4/5, explicit header
        self.write(_MODEM_CONFIG2, (sf << 4) | 0x04)  # CRC on
        self.write(_SYNC_WORD, sync_word)
        self.write(_FIFO_TX_BASE, 0)
        self.write(_FIFO_RX_BASE, 0)
        self.mode(_STDBY)

    def read(self, reg):
        b = self.buf
        b[0], b[1] = reg & 0x7F, 0
        self.cs.value(0)
        self.spi.write_readinto(b, b)
        self.cs.value(1)
        return b[1]

    def write(self, reg, val):
        b = self.buf
        b[0], b[1] = reg | 0x80, val
        self.cs.value(0)
        self.spi.write(b)
        self.cs.value(1)

    def mode(self, m):
        self.write(_OP_MODE, _LORA | m)

    def receive(self):
        self.mode(_RX_CONTINUOUS)

    def poll(self):
        # The payload of a packet received since the last poll, or None.
        f = self.read(_IRQ_FLAGS)
        if not f & _IRQ_RX_DONE:
            return None
        self.write(_IRQ_FLAGS, 0xFF)
        if f & _IRQ_CRC_ERROR:
            return None
        n = self.read(_RX_NB_BYTES)
        self.write(_FIFO_ADDR_PTR, self.read(_FIFO_RX_CURRENT))
        return bytes(self.read(_FIFO) for _ in range(n))

    def poll_sequence(self):
        # The sequence of a received "FS" packet, or None.
        p = self.poll()
        if p is None or len(p) < 10 or p[:2] != b"FS":
            return None
        return int.from_bytes(p[2:10], "big")

    def send(self, payload, timeout_ms=2000):
        # Send payload (lora.status_payload) and go back to receiving.
        self.mode(_STDBY)
        self.write(_FIFO_ADDR_PTR, 0)
        for b in payload:
            self.write(_FIFO, b)
        self.write(_PAYLOAD_LENGTH, len(payload))
        self.mode(_TX)
        waited = 0
        while not self.read(_IRQ_FLAGS) & _IRQ_TX_DONE:
            if waited >= timeout_ms:
                self.receive()
                raise RadioError("sx127x: no TxDone in %d ms" % timeout_ms)
            self.sleep_ms(10)
            waited += 10
        self.write(_IRQ_FLAGS, 0xFF)
        self.receive()
