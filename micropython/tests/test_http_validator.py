# http.Response.validator: Last-Modified stands for the content only when the
# answer's Date is at least a second after it (a file changed again within
# its Last-Modified second would answer If-Modified-Since with a 304).
from ferry import http


class Sock:
    def __init__(self, head):
        self.lines = [l + b"\r\n" for l in head] + [b"\r\n"]

    def readline(self, n):
        return self.lines.pop(0) if self.lines else b""


def validator(*headers):
    r = http.Response(Sock([b"HTTP/1.1 200 OK"] + list(headers)), "http://o/p", 100)
    r._head()
    return r.validator()


LM = b"Last-Modified: Mon, 30 Nov 2026 05:00:00 GMT"
cases = [
    ("a second later", (LM, b"Date: Mon, 30 Nov 2026 05:00:01 GMT"), "Mon, 30 Nov 2026 05:00:00 GMT"),
    ("an hour later", (LM, b"Date: Mon, 30 Nov 2026 06:00:00 GMT"), "Mon, 30 Nov 2026 05:00:00 GMT"),
    ("the same second", (LM, b"Date: Mon, 30 Nov 2026 05:00:00 GMT"), None),
    ("no Date", (LM,), None),
    ("a bad Last-Modified", (b"Last-Modified: yesterday", b"Date: Mon, 30 Nov 2026 06:00:00 GMT"), None),
    ("no Last-Modified", (b"Date: Mon, 30 Nov 2026 06:00:00 GMT",), None),
]
for name, headers, want in cases:
    got = validator(*headers)
    assert got == want, "%s: validator() = %r, want %r" % (name, got, want)
print("ok", len(cases))
