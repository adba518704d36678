# sock_bridge.py: the runner's socket module against a Go server, driven by
# internal/mpyrun's TestSocketBridge, which passes the ports:
#   sock_bridge.py ECHO_PORT SILENT_PORT CLOSED_PORT
# echo: sends back each line; silent: accepts and never writes.
import sys, socket, errno, hashlib

echo, silent, closed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
addr = socket.getaddrinfo("localhost", echo)[0][-1]
assert addr == ("127.0.0.1", echo), addr

s = socket.socket()
s.settimeout(5)
s.connect(addr)
s.write(b"hello\n")
assert s.readline() == b"hello\n"
# 300 KiB in one write crosses the bridge's 64 KiB buffer several times.
big = bytes(range(256)) * 1200 + b"\n"
s.sendall(big)
got = s.read(len(big))
assert got == big, (len(got), len(big))
# readinto a memoryview slice lands at the right place.
s.write(b"abcdef\n")
buf = bytearray(10)
n = s.readinto(memoryview(buf)[2:], 7)
assert n >= 1 and bytes(buf[2:2 + n]) == b"abcdef\n"[:n], buf
if n < 7:
    s.read(7 - n)
s.write(b"bye\n")
assert s.recv(100) == b"bye\n"
s.close()
try:
    s.recv(1)
    raise AssertionError("recv on a closed socket")
except OSError as e:
    assert e.errno == errno.EBADF, e

# A silent server: recv times out with ETIMEDOUT; non-blocking gives EAGAIN.
q = socket.socket()
q.settimeout(0.2)
q.connect(("127.0.0.1", silent))
try:
    q.recv(1)
    raise AssertionError("no timeout")
except OSError as e:
    assert e.errno == errno.ETIMEDOUT, e
q.setblocking(False)
try:
    q.readinto(bytearray(4))
    raise AssertionError("no EAGAIN")
except OSError as e:
    assert e.errno == errno.EAGAIN, e
q.close()

try:
    socket.socket().connect(("127.0.0.1", closed))
    raise AssertionError("connected to a closed port")
except OSError as e:
    assert e.errno == errno.ECONNREFUSED, e

# The server closes after "quit": reads then give EOF (b"").
s = socket.socket()
s.connect(addr)
s.write(b"quit\n")
assert s.read(10) == b"", "EOF"
s.close()
print("sock_bridge ok")
