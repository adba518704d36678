# ferry/linkup.py: the board's drivers that bring a link up and say whether
# it is (issue #17; links.py tries them cheapest first, each probe once per
# 250 ms until the link's up_timeout_sec):
#
#   wifi      network.WLAN(STA_IF): connect to ssid/password once, then up
#             when isconnected(); signal "RSSI -61 dBm" when the port has
#             status("rssi").
#   cellular  the modem on machine.UART(uart, baud, tx, rx) asked over AT
#             (modem.py): a modem not registered takes the link down; one
#             that does not answer leaves the signal "unknown: ...". Then the
#             data path: network.PPP(uart) where the port has it (with the
#             apn set first by AT+CGDCONT and dialled with ATD*99#), up when
#             isconnected(); links.over() disconnects it after the cycle.
#             A port without network.PPP cannot carry data over this link:
#             it is down, saying so. Untested on hardware: the AT and PPP
#             calls are exercised against fakes only.
#   ethernet  network.LAN(): up when isconnected().
#
# Every probe is a function transport -> links.State; links.Manager takes a
# dict kind -> probe, so tests pass fakes (make_cellular takes a UART and a
# PPP factory).

from ferry import links, modem


def drivers():
    return {"wifi": Wifi().probe, "cellular": Cellular().probe, "ethernet": lan}


def _network():
    try:
        import network
        return network
    except ImportError:
        return None


class Wifi:
    def __init__(self, network=None):
        self.net = network
        self.wlan = None

    def probe(self, t):
        net = self.net or _network()
        if net is None or not hasattr(net, "WLAN"):
            return links.State(t.name, why="this port has no network.WLAN")
        if self.wlan is None:
            self.wlan = net.WLAN(net.STA_IF)
            self.wlan.active(True)
            if not self.wlan.isconnected():
                self.wlan.connect(t.ssid, t.password)
        if not self.wlan.isconnected():
            return links.State(t.name, why="not connected to %s" % t.ssid)
        sig = ""
        try:
            sig = "RSSI %d dBm" % self.wlan.status("rssi")
        except Exception:
            pass
        return links.State(t.name, True, signal=sig)


class Cellular:
    # uart: a UART-like object (else machine.UART from the transport's
    # keys); ppp: a factory uart -> PPP interface (else network.PPP).
    def __init__(self, uart=None, ppp=None, conn=None):
        self.uart = uart
        self.ppp_factory = ppp
        self.conn = conn
        self.ppp = None
        self.signal = ""

    def _uart(self, t):
        if self.uart is None:
            import machine
            kw = {"baudrate": t.baud}
            if t.tx is not None:
                kw["tx"], kw["rx"] = t.tx, t.rx
            self.uart = machine.UART(t.uart, **kw)
        return self.uart

    def probe(self, t):
        if self.ppp is not None:  # the data path is being brought up
            return self._ppp_state(t)
        c = self.conn or modem.Conn(self._uart(t))
        try:
            self.signal = str(modem.query(c))
        except modem.ModemError as e:
            if e.code == "not-registered":
                return links.State(t.name, why=str(e))
            self.signal = "unknown: " + str(e)
        factory = self.ppp_factory
        if factory is None:
            net = _network()
            if net is None or not hasattr(net, "PPP"):
                return links.State(t.name, why="this port has no network.PPP: no data path over the modem",
                                   signal=self.signal)
            factory = net.PPP
        if t.apn:
            try:
                c.command('AT+CGDCONT=1,"IP","%s"' % t.apn)
            except modem.ModemError:
                pass
        try:
            c.command("ATD*99#")  # answered CONNECT: the UART now carries PPP
        except modem.ModemError as e:
            return links.State(t.name, why=str(e), signal=self.signal)
        self.ppp = factory(self.uart)
        if hasattr(self.ppp, "active"):  # the older (ESP32) PPP needs it; 1.24's rp2 PPP has none
            self.ppp.active(True)
        self.ppp.connect()
        return self._ppp_state(t)

    def _ppp_state(self, t):
        if self.ppp.isconnected():
            return links.State(t.name, True, signal=self.signal, keep=self.ppp)
        return links.State(t.name, why="PPP not connected", signal=self.signal)


def lan(t, network=None):
    net = network or _network()
    if net is None or not hasattr(net, "LAN"):
        return links.State(t.name, why="this port has no network.LAN")
    nic = net.LAN()
    nic.active(True)
    if nic.isconnected():
        return links.State(t.name, True)
    return links.State(t.name, why="no cable or no address")
