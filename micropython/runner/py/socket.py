# socket.py: MicroPython's socket API on the runner's socket bridge
# (_ferrysock, see sockbridge.mjs). Only the runner puts this file on
# sys.path; a board uses its port's own socket module. Blocking calls block;
# settimeout(t) makes connect/send/recv raise OSError(ETIMEDOUT) after t
# seconds, like a board; setblocking(False) makes them raise OSError(EAGAIN).
import _ferrysock as _b
import uctypes

AF_INET = 2
SOCK_STREAM = 1
IPPROTO_TCP = 6
SOL_SOCKET = 1
SO_REUSEADDR = 4


def _check(r):
    if r < 0:
        if r == -9:  # named, so that a bridge fault is told from a closed file's EBADF
            raise OSError(9, "socket bridge: no such connection")
        raise OSError(-r)
    return r


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    ip = _b.resolve(host)
    if isinstance(ip, int):
        raise OSError(-ip)
    return [(AF_INET, SOCK_STREAM, IPPROTO_TCP, "", (ip, port))]


class socket:
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=IPPROTO_TCP):
        self._id = 0
        self._t = -1  # ms; -1 blocks, 0 is non-blocking

    def settimeout(self, t):
        self._t = -1 if t is None else int(t * 1000)

    def setblocking(self, flag):
        self._t = -1 if flag else 0

    def setsockopt(self, level, opt, value):
        pass

    def connect(self, addr):
        if self._id:
            raise OSError(106)  # EISCONN
        self._id = _check(_b.connect(addr[0], addr[1], self._t))

    def _need(self):
        if not self._id:
            raise OSError(9, "socket closed")  # EBADF
        return self._id

    def send(self, buf):
        n = len(buf)
        if n == 0:
            return 0
        return _check(_b.send(self._need(), uctypes.addressof(buf), n, self._t))

    def sendall(self, buf):
        mv = memoryview(buf)
        i = 0
        while i < len(mv):
            i += self.send(mv[i:])

    def write(self, buf):
        self.sendall(buf)
        return len(buf)

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes < 0 else min(nbytes, len(buf))
        if n == 0:
            return 0
        return _check(_b.recv(self._need(), uctypes.addressof(buf), n, self._t))

    def recv_into(self, buf, nbytes=0):
        return self.readinto(buf, nbytes or -1)

    def recv(self, n):
        buf = bytearray(n)
        k = self.readinto(buf)
        return bytes(buf) if k == n else bytes(buf[:k])

    def read(self, n=-1):
        # Like a board's stream read: up to n bytes, short only at EOF.
        if n < 0:
            out = bytearray()
            while True:
                b = self.recv(4096)
                if not b:
                    return bytes(out)
                out.extend(b)
        buf = bytearray(n)
        mv = memoryview(buf)
        got = 0
        while got < n:
            k = self.readinto(mv[got:])
            if k == 0:
                break
            got += k
        return bytes(buf) if got == n else bytes(buf[:got])

    def readline(self, limit=4096):
        buf = bytearray(limit)
        mv = memoryview(buf)
        got = 0
        while got < limit:
            k = _check(_b.recvline(self._need(), uctypes.addressof(mv[got:]), limit - got, self._t))
            if k == 0:
                break
            got += k
            if buf[got - 1] == 10:
                break
        return bytes(buf[:got])

    def makefile(self, mode="rb", buffering=0):
        return self

    def close(self):
        if self._id:
            _b.close(self._id)
            self._id = 0

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
