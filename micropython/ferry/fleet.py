# ferry/fleet.py: the board's fleet reports (issue #16), as the Linux
# agent's internal/fleet/reporter: after every cycle one signed report goes
# to report_url (the fleet service, `ferry fleet serve`), with the enrollment
# token (enroll_token) in the Ferry-Enroll-Token header.
#
# The document is internal/fleet/report's format 1, signed with Ed25519 by
# the device's own key over b"ferry-report 1\n" + the document bytes, sent
# in the envelope {"report": <doc>, "key": <b64 pub>, "sig": <b64 sig>}.
# Files in <state> (the Linux agent's names):
#   fleet.key            the 32-byte seed, made on first run from os.urandom
#   fleet.pub            its public key in base64 (for the service's allow-list)
#   reports/state.json   {"next": N, "dropped": D}: the next report number (a
#                        fresh queue starts at the Unix time in ms, so a wiped
#                        board does not reuse numbers) and the reports dropped
#   reports/NNN....json  queued envelopes, one a file, named by number (20 digits)
# The number is saved before the report is sent, so a power cut never reuses
# one; the service stores a report once however often it is resent.
# With an empty queue a report goes straight out and is queued only if the
# send fails; otherwise it is queued and the queue is sent oldest first,
# until a send fails. A 2xx removes a report, so does a 4xx other than 408
# and 429 (the service would refuse it again: printed); anything else (no
# network, 5xx, 408, 429) keeps it for the next cycle.
# MAX_QUEUE is 20, not the Linux agent's 200: littlefs gives every file at
# least one 4 KB flash block, so 20 reports may take 80 KB of a Pico W's
# ~850 KB filesystem (200 would take most of it); at one check an hour 20
# covers most of a day's outage, and the dropped count says what was lost.
# Clock: a board's clock may be unset. The report's time is the clock when it
# looks set, else the last good time of the cycle (a signed lower bound). If
# the service refuses the time (400 "clock skew") and its answer has a Date,
# the report is dated again by the service's clock, signed again under the
# same number, and sent once more, when the refused time is ahead (never
# stored, then) or came from an unset clock (state.json "redate" lists
# those); a report from a set clock refused as too old is dropped, as on
# Linux: it may have been stored and pruned, and must not be stored twice.
# Memory: a document is < 2 KB (reason clipped to 512, last_error to 256
# bytes); queued envelopes are sent from flash in 256-byte chunks.
import json
from binascii import b2a_base64, a2b_base64
from ferry import fs, records, board

MAX_QUEUE = 20
TOKEN_HEADER = "Ferry-Enroll-Token"
PREFIX = b"ferry-report 1\n"
QDIR = "reports"
_CHUNK = 256
# the report's fields in internal/fleet/report's order; "o" = omitted when empty
_FIELDS = (("format", ""), ("device", ""), ("number", ""), ("time", ""), ("channel", "o"),
           ("version", ""), ("sequence", ""), ("outcome", ""), ("reason", "o"), ("target", "o"),
           ("bytes", ""), ("duration_ms", ""), ("link", "o"), ("battery", "o"), ("health", ""),
           ("dropped", ""))
_HEALTH = (("updates", ""), ("rollbacks", ""), ("errors", ""), ("deferrals", ""), ("last_error", "o"))


def _err(*a):
    # Messages go to stderr, as the Linux agent's log: stdout is the cycle's line.
    import sys
    print(*a, file=sys.stderr)


def _b64(b):
    return b2a_base64(b).strip().decode()


def _obj(d, fields):
    out = []
    for k, how in fields:
        v = d.get(k)
        if how == "o" and (v is None or v == ""):
            continue
        out.append('"%s":%s' % (k, _obj(v, _HEALTH) if k == "health" else json.dumps(v)))
    return "{" + ",".join(out) + "}"


def encode(doc):
    """The report document's bytes (compact JSON, fields in Go's order)."""
    return _obj(doc, _FIELDS).encode()


def rfc3339(t):
    g = board.gmtime(t)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % g[:6]


def _path(state, *names):
    return "/".join([state.rstrip("/")] + list(names))


def key(state, feed=None):
    """(seed, pub) of the device key, made on first run (pub first, then the
    seed, as the Linux agent: a cut leaves no key and a new one is made)."""
    from ferry import ed25519s
    kp = _path(state, "fleet.key")
    seed = fs.read_small(kp, 64)
    if seed is None:
        seed = _random32()
        pub = ed25519s.public(seed, feed)
        fs.makedirs(state.rstrip("/") or "/")
        fs.write_atomic(_path(state, "fleet.pub"), _b64(pub) + "\n")
        fs.write_atomic(kp, seed)
        return seed, pub
    if len(seed) != 32:
        raise ValueError("fleet: device key %s: %d bytes, want 32: remove it to make a new key "
                         "(the fleet service must then enroll the device again)" % (kp, len(seed)))
    pub = fs.read_small(_path(state, "fleet.pub"), 128)
    try:
        pub = a2b_base64(pub) if pub else b""
    except ValueError:
        pub = b""
    if len(pub) != 32:
        pub = ed25519s.public(seed, feed)
        fs.write_atomic(_path(state, "fleet.pub"), _b64(pub) + "\n")
    return seed, pub


def _random32():
    # 32 bytes from the port's random source: os.urandom (the hardware RNG on
    # RP2040 and ESP32), or the host's crypto.getRandomValues on the
    # WebAssembly port (no os.urandom there). Never a guessable source.
    import os
    if hasattr(os, "urandom"):
        return os.urandom(32)
    try:
        import js
        a = js.Uint8Array.new(32)
        js.crypto.getRandomValues(a)
        return bytes(a[i] for i in range(32))
    except ImportError:
        raise OSError("fleet: no random source (os.urandom) to make the device key on this port")


def sign(doc, seed, pub, feed=None):
    """The envelope's bytes for the report document doc (a dict)."""
    from ferry import ed25519s
    body = encode(doc)
    sig = ed25519s.sign(seed, PREFIX + body, pub, feed)
    return b'{"report":%s,"key":"%s","sig":"%s"}' % (body, _b64(pub).encode(), _b64(sig).encode())


def queued(state):
    """The queued report files, oldest first."""
    d = _path(state, QDIR)
    if fs.kind(d) != "d":
        return []
    names = [e[0] for e in fs.ilistdir(d) if len(e[0]) == 25 and e[0].endswith(".json")]
    names.sort()
    return names


def _load_state(state, now):
    s = records.read_json(_path(state, QDIR), "state.json")
    if s is None:
        if records.exists(_path(state, QDIR), "state.json"):
            raise ValueError("fleet: %s: unreadable: remove it to start numbering again" % _path(state, QDIR, "state.json"))
        return {"next": max(1, now * 1000), "dropped": 0}
    if not isinstance(s.get("next"), int) or s["next"] < 1:
        raise ValueError("fleet: %s: no next number: remove it to start numbering again" % _path(state, QDIR, "state.json"))
    s.setdefault("dropped", 0)
    return s


def number(state, doc, now, max_queue=MAX_QUEUE, clock_set=True):
    """Drop the oldest queued reports beyond max_queue - 1 (counted), give
    doc the next number and the dropped count, save the state."""
    q = queued(state)
    s = _load_state(state, now)
    while len(q) >= max_queue:
        fs.remove(_path(state, QDIR, q.pop(0)))
        s["dropped"] += 1
    doc["number"], doc["dropped"] = s["next"], s["dropped"]
    s["next"] += 1
    if not clock_set:
        s["redate"] = (s.get("redate") or [])[1 - max_queue:] + [doc["number"]]
    fs.makedirs(_path(state, QDIR))
    records.write_json(_path(state, QDIR), "state.json", s)
    return len(q)


def store(state, n, env):
    fs.makedirs(_path(state, QDIR))
    fs.write_atomic(_path(state, QDIR, name(n)), env)


def name(n):
    # The queue file of report n: 20 digits (n is a big int on a 32-bit
    # port: no %d).
    s = str(n)
    return "0" * (20 - len(s)) + s + ".json"


class Sender:
    # POSTs envelopes to url over ferry.http's connection code.

    def __init__(self, url, token="", timeout=10, connect_timeout=10, feed=None, log=_err):
        self.url, self.token, self.feed, self.log = url, token, feed, log
        self.timeout, self.connect_timeout = timeout, connect_timeout

    def post(self, src, size):
        """Send size bytes read from src (bytes or a readinto stream).
        Returns (status, date, text); raises OSError/HTTPError on network
        failures."""
        from ferry import http
        scheme, host, port, path = http.split_url(self.url)
        s = http._connect(scheme, host, port, self.timeout, self.connect_timeout, self.feed)
        r = http.Response(s, self.url, 1024, self.timeout, self.feed)
        try:
            hp = host if port == (443 if scheme == "https" else 80) else "%s:%d" % (host, port)
            s.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: ferry-micropython\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n" % (path.encode(), hp.encode(), size))
            if self.token:
                s.write(b"%s: %s\r\n" % (TOKEN_HEADER.encode(), self.token.encode()))
            s.write(b"\r\n")
            if isinstance(src, (bytes, bytearray)):
                s.write(src)
            else:
                buf = bytearray(_CHUNK)
                while True:
                    n = src.readinto(buf)
                    if not n:
                        break
                    s.write(buf[:n] if n < _CHUNK else buf)
            r._head()
            try:
                text = r.read(256).decode().strip()
            except Exception:
                text = ""
            return r.status, r._date, text
        finally:
            r.close()


def _verdict(status):
    # "ok", "drop" (refused for good) or "keep".
    if 200 <= status < 300:
        return "ok"
    if 400 <= status < 500 and status not in (408, 429):
        return "drop"
    return "keep"


class Reporter:
    # One device's reports: report(doc) after every cycle.

    def __init__(self, state, sender, device, max_queue=MAX_QUEUE, feed=None, log=_err):
        if not device:
            raise ValueError("fleet: no device id: set device_id")
        self.state, self.sender, self.device = state, sender, device
        self.max_queue, self.feed, self.log = max_queue, feed, log
        self.seed, self.pub = key(state, feed)

    def report(self, doc, now, clock_set=True):
        """Number, sign, send (or queue) doc; returns a line saying what
        happened. Raises only on flash errors. clock_set: whether doc's
        time is from a set clock."""
        doc["format"], doc["device"] = 1, self.device
        n_queued = number(self.state, doc, now, self.max_queue, clock_set)
        env = sign(doc, self.seed, self.pub, self.feed)
        if n_queued:
            store(self.state, doc["number"], env)
            return self.flush()
        try:
            v = self._send(env, doc)
        except Exception as e:
            v = "keep: %s" % e
        if v == "ok" or v.startswith("drop"):
            return "report %s sent" % doc["number"] if v == "ok" else v
        store(self.state, doc["number"], env)
        return "report %s queued (%s)" % (doc["number"], v)

    def _send(self, env, doc=None, path=None):
        # One envelope (bytes, or the file path); "ok", "drop: why" or "keep: why".
        status, date, text = self._post(env, path)
        if status == 400 and text.startswith("clock skew") and date > 0:
            if doc is None:
                doc = json.loads(fs.read_small(path, 4096))["report"]
            if " ahead " not in text and doc["number"] not in (_load_state(self.state, 0).get("redate") or ()):
                return self._verdict(status, doc, path, text)
            doc["time"] = rfc3339(date)
            env = sign(doc, self.seed, self.pub, self.feed)
            if path is not None:
                fs.write_atomic(path, env)
            status, date, text = self._post(env, None)
        return self._verdict(status, doc, path, text)

    def _verdict(self, status, doc, path, text):
        v = _verdict(status)
        if v == "drop":
            v = "drop: the fleet service refused report %s (%d): %s" % (str(doc["number"]) if doc else path, status, text)
            self.log("ferry: fleet:", v)
        elif v == "keep":
            v = "keep: %d %s" % (status, text)
        return v

    def _post(self, env, path):
        if path is None:
            return self.sender.post(env, len(env))
        f = fs.open_read(path)
        try:
            return self.sender.post(f, fs.size(path))
        finally:
            f.close()

    def flush(self):
        """Send the queue oldest first until it is empty or a send fails."""
        q = queued(self.state)
        for i, name in enumerate(q):
            p = _path(self.state, QDIR, name)
            try:
                v = self._send(None, None, p)
            except Exception as e:
                v = "keep: %s" % e
            if v.startswith("keep"):
                return "%d reports queued (%s)" % (len(q) - i, v[6:])
            fs.remove(p)
            fs.sync()
        return "%d reports sent" % len(q) if q else "no reports queued"


def _clip(s, n):
    s = s or ""
    return s[:n] if len(s) > n else s


def cycle_doc(c, res, err, rec, duration_ms, now):
    """The report of one cycle (unnumbered): res is the cycle's Result or
    None, err the exception that failed it or None, rec the installed
    record after it."""
    from ferry import health
    d = {"time": rfc3339(now), "channel": c.channel, "version": "", "sequence": 0,
         "bytes": 0, "duration_ms": max(0, duration_ms), "reason": "", "target": ""}
    if err is not None:
        d["outcome"], d["reason"] = "failed", str(err)
    elif res.deferred:
        d["outcome"], d["reason"] = "deferred", res.deferred
    else:
        d["outcome"] = "up-to-date" if res.up_to_date else "updated"
    if res is not None:
        d["target"], d["bytes"], d["link"] = res.to or "", res.downloaded, res.link or ""
    if rec:
        d["version"], d["sequence"] = rec.get("version") or "", rec.get("sequence") or 0
        d["channel"] = rec.get("channel") or c.channel
    d["reason"] = _clip(d["reason"], 512)
    last, counts = health.latest(c.state)
    e = last.get("error")
    d["health"] = {"updates": counts.get("update", 0), "rollbacks": counts.get("rollback", 0),
                   "errors": counts.get("error", 0), "deferrals": counts.get("deferral", 0),
                   "last_error": _clip(e[2].strip() if e else "", 256)}
    return d


def installed(state):
    # install.py's version record (<state>/installed.json), read without
    # loading the installer's code (~65 KB of heap from .py); None if none.
    r = records.read_json(state, "installed.json")
    return r if isinstance(r, dict) else None


def report_time(c):
    # (time, clock set): the clock when it looks set, else the cycle's last
    # good time.
    t = board.now()
    if board.trusted(t):
        return t, True
    from ferry import cycle
    return max(t, cycle.read_last(c.state)[1]), False


def after(c, device, res, err, rec, duration_ms, feed=None):
    """After a cycle: report it. Never raises (a report must not fail an
    update); returns the line saying what happened, or None when reports
    are off (no report_url)."""
    if not c.report_url:
        return None
    try:
        now, clock_set = report_time(c)
        snd = Sender(c.report_url, c.enroll_token, c.stall_sec, c.connect_timeout_sec, feed)
        r = Reporter(c.state, snd, device, feed=feed)
        line = r.report(cycle_doc(c, res, err, rec, duration_ms, now), now, clock_set)
    except Exception as e:
        line = "fleet report not sent: %s" % e
    _err("ferry: fleet:", line)
    return line
