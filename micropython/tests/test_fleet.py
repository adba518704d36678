# Tests of ferry.ed25519s (signing) and ferry.fleet (the board's fleet
# reports, issue #16), in real MicroPython:
#   node micropython/runner/exec.mjs micropython/tests/test_fleet.py
# RFC 8032 section 7.1 vectors 1-3 for signing; the device key made once;
# the report document's exact bytes (internal/fleet/report's field order and
# omissions); the envelope's signature; numbering; the bounded queue with
# its dropped count; what a 2xx, a 4xx, a 5xx and a network error do; a
# report re-dated by the service's clock.
import json
from binascii import unhexlify as uh, a2b_base64
from ferry import ed25519, ed25519s, fleet, fs

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


RFC = [  # (secret seed, public key, message, signature)
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]
fed = [0]


def feed():
    fed[0] += 1


for i, (sk, pk, msg, sig) in enumerate(RFC):
    n = "rfc8032 test %d" % (i + 1)
    check(n + ": public key", ed25519s.public(uh(sk)) == uh(pk))
    got = ed25519s.sign(uh(sk), uh(msg), feed=feed)
    check(n + ": signature", got == uh(sig), got)
    check(n + ": signature with pub given", ed25519s.sign(uh(sk), uh(msg), uh(pk)) == uh(sig))
    check(n + ": verifies", ed25519.verify(uh(pk), got, uh(msg)))
check("feed called while signing", fed[0] > 0, fed[0])
try:
    ed25519s.sign(b"short", b"")
    check("a short seed is refused", False)
except ValueError:
    pass

# The device key: made once, public half in base64 beside it.
S = "/.ferry-fleet"
fs.remove_tree(S)
seed, pub = fleet.key(S)
check("key: 32-byte seed on flash", fs.read_small(S + "/fleet.key", 64) == seed and len(seed) == 32)
check("key: fleet.pub is the public key", a2b_base64(fs.read_small(S + "/fleet.pub", 128)) == pub)
check("key: pub matches seed", ed25519s.public(seed) == pub)
check("key: the same on the next run", fleet.key(S) == (seed, pub))
fs.remove(S + "/fleet.pub")
check("key: a lost fleet.pub is made again from the seed", fleet.key(S) == (seed, pub) and fs.exists(S + "/fleet.pub"))
fs.write_atomic(S + "/fleet.key", b"x" * 31)
try:
    fleet.key(S)
    check("key: a 31-byte key is refused", False)
except ValueError as e:
    check("key: the refusal names the file and the fix", "fleet.key" in str(e) and "remove it" in str(e), e)
fs.remove_tree(S)

# The document: internal/fleet/report's JSON (Go's field order, omitempty).
doc = {"format": 1, "device": "pump-17", "number": 42, "time": fleet.rfc3339(1796014800), "channel": "stable",
       "version": "v1.4.2", "sequence": 9, "outcome": "updated", "reason": "", "target": "v1.4.2", "bytes": 52311,
       "duration_ms": 5200, "link": "wifi", "health": {"updates": 3, "rollbacks": 0, "errors": 1, "deferrals": 0,
                                                       "last_error": "fetch: timeout"}, "dropped": 0}
want = (b'{"format":1,"device":"pump-17","number":42,"time":"2026-11-30T05:00:00Z","channel":"stable",'
        b'"version":"v1.4.2","sequence":9,"outcome":"updated","target":"v1.4.2","bytes":52311,"duration_ms":5200,'
        b'"link":"wifi","health":{"updates":3,"rollbacks":0,"errors":1,"deferrals":0,"last_error":"fetch: timeout"},'
        b'"dropped":0}')
got = fleet.encode(doc)
check("document bytes", got == want, got)
doc2 = dict(doc, channel="", link="", target="", reason='say "hi"\n',
            health={"updates": 0, "rollbacks": 0, "errors": 0, "deferrals": 0, "last_error": ""})
got = fleet.encode(doc2)
check("empty optional fields omitted, version kept", b'"channel"' not in got and b'"link"' not in got
      and b'"target"' not in got and b'"last_error"' not in got and b'"version":"v1.4.2"' in got, got)
check("strings escaped", json.loads(got)["reason"] == 'say "hi"\n', got)

# The envelope verifies as the service verifies it.
seed = uh(RFC[0][0])
pub = uh(RFC[0][1])
env = fleet.sign(doc, seed, pub)
e = json.loads(env)
body = env[len(b'{"report":'):env.index(b',"key":')]
check("envelope: report is the document byte for byte", body == want, body)
check("envelope: key", a2b_base64(e["key"].encode()) == pub)
check("envelope: signature over ferry-report 1 + document",
      ed25519.verify(pub, a2b_base64(e["sig"].encode()), b"ferry-report 1\n" + want))
check("envelope: not over the bare document", not ed25519.verify(pub, a2b_base64(e["sig"].encode()), want))


class FakeSender:
    # Answers each post with the next of `answers` (an int status, a
    # (status, date, text) tuple, or an exception); records the bodies.
    def __init__(self, answers=None):
        self.answers = answers or []
        self.bodies = []

    def post(self, src, size):
        if isinstance(src, (bytes, bytearray)):
            b = bytes(src)
        else:
            b = src.read()
        check("post: size is the body's length", len(b) == size, (len(b), size))
        a = self.answers.pop(0) if self.answers else 201
        if isinstance(a, Exception):
            raise a
        self.bodies.append(b)
        if isinstance(a, int):
            return a, -1, "stored"
        return a


def numbers(snd):
    return [json.loads(b)["report"]["number"] for b in snd.bodies]


def newdoc(outcome="up-to-date"):
    return {"time": "2026-11-30T05:00:00Z", "version": "1.0", "sequence": 1, "outcome": outcome, "bytes": 0,
            "duration_ms": 1, "health": {"updates": 0, "rollbacks": 0, "errors": 0, "deferrals": 0}}


NOW = 1796014800
fs.remove_tree(S)
snd = FakeSender()
logs = []
r = fleet.Reporter(S, snd, "board-1", max_queue=20, log=lambda *a: logs.append(a))
line = r.report(newdoc(), NOW)
check("sent: one post", len(snd.bodies) == 1 and "sent" in line, line)
first = numbers(snd)[0]
check("a fresh queue numbers from the clock in ms", first == NOW * 1000, first)
check("sent: nothing queued", fleet.queued(S) == [])
check("sent: device and format set", json.loads(snd.bodies[0])["report"]["device"] == "board-1")

# An outage: every report queued, the queue bounded, the oldest dropped and counted.
snd.answers = [OSError(113, "no route")] * 25
for i in range(25):
    line = r.report(newdoc(), NOW + i)
q = fleet.queued(S)
check("outage: queue holds max_queue reports", len(q) == 20, len(q))
check("outage: the newest kept", q[-1] == fleet.name(first + 25) and q[0] == fleet.name(first + 6), (q[0], q[-1]))
last = json.loads(fs.read_small(S + "/reports/" + q[-1], 4096))["report"]
check("outage: dropped count travels in the report", last["dropped"] == 5, last["dropped"])
check("outage: nothing posted", len(snd.bodies) == 1, len(snd.bodies))

# The service is back: the next report sends the queue, oldest first.
snd.answers = []
line = r.report(newdoc("updated"), NOW + 100)
got = numbers(snd)[1:]
# the queue was full: the new report dropped one more (it never exceeds max_queue)
check("flush: the 20 queued sent oldest first", got == [first + 7 + i for i in range(20)], (got, line))
check("flush: queue empty", fleet.queued(S) == [], fleet.queued(S))
st = json.loads(fs.read_small(S + "/reports/state.json", 256))
check("state: next number and dropped saved", st == {"next": first + 27, "dropped": 6}, st)

# A 5xx (or 429) keeps the report, a 4xx drops it (logged), the queue stops at a kept one.
snd.answers = [503]
r.report(newdoc(), NOW + 200)
check("503: queued", len(fleet.queued(S)) == 1)
snd.answers = [429]
r.report(newdoc(), NOW + 201)
check("429 on the first of the queue: both kept", len(fleet.queued(S)) == 2, fleet.queued(S))
snd.answers = [403, 201, 201]
logs.clear()
r.report(newdoc(), NOW + 202)
check("403: refused report dropped, the rest sent", fleet.queued(S) == [], fleet.queued(S))
check("403: logged", len(logs) == 1 and "refused" in logs[0][1], logs)
snd.answers = [401]
line = r.report(newdoc(), NOW + 203)
check("401 with an empty queue: dropped, not queued", fleet.queued(S) == [] and "refused" in line, line)

# Clock: a refused time is dated again by the service's clock, same number.
n0 = len(snd.bodies)
snd.answers = [(400, NOW + 5000, "clock skew: report 1 time ... set the device's clock"), 201]
d = newdoc()
d["time"] = "2000-01-01T00:00:00Z"
line = r.report(d, 946684800, clock_set=False)
sent = [json.loads(b)["report"] for b in snd.bodies[n0:]]
check("clock: sent twice", len(sent) == 2 and "sent" in line, (len(sent), line))
check("clock: same number", sent[0]["number"] == sent[1]["number"])
check("clock: re-dated by the service's Date", sent[1]["time"] == fleet.rfc3339(NOW + 5000), sent[1]["time"])
e = json.loads(snd.bodies[-1])
doc_bytes = snd.bodies[-1][len(b'{"report":'):snd.bodies[-1].index(b',"key":')]
check("clock: re-signed", ed25519.verify(a2b_base64(e["key"].encode()), a2b_base64(e["sig"].encode()), b"ferry-report 1\n" + doc_bytes))
# From a set clock: refused as too old, it is dropped (it may have been
# stored and pruned: never stored twice); refused as ahead, it is re-dated.
n0 = len(snd.bodies)
snd.answers = [(400, NOW, "clock skew: report 9 time 2025-01-01T00:00:00Z is older than 2160h0m0s: set the device's clock"), 201]
line = r.report(newdoc(), NOW - 200 * 86400)
check("clock set, too old: dropped after one post", len(snd.bodies) == n0 + 1 and "refused" in line
      and fleet.queued(S) == [], (len(snd.bodies) - n0, line))
snd.answers = [(400, NOW, "clock skew: report 9 time 2027-01-01T00:00:00Z is 744h0m0s ahead of the service's clock (at most 10m0s): set the device's clock"), 201]
line = r.report(newdoc(), NOW + 31 * 86400)
check("clock set, ahead: re-dated and sent", len(snd.bodies) == n0 + 3 and "sent" in line
      and json.loads(snd.bodies[-1])["report"]["time"] == fleet.rfc3339(NOW), line)
# A queued report from an unset clock is re-dated when the queue is sent.
snd.answers = [OSError(113, "no route")]
r.report(newdoc(), 946684800, clock_set=False)
snd.answers = [(400, NOW, "clock skew: report 1 time 2000-01-01T00:00:00Z is older than 2160h0m0s"), 201, 201]
line = r.report(newdoc(), NOW)
check("queued from an unset clock: re-dated, both sent", fleet.queued(S) == [] and line == "2 reports sent", line)
fs.remove_tree(S)


# A cycle's report: the outcome words of internal/fleet/report.
class Cfg:
    state = S
    channel = "stable"
    report_url = ""
    enroll_token = "t"
    stall_sec = 1
    connect_timeout_sec = 1


class Res:
    to = "2.0"
    downloaded = 99
    link = ""
    deferred = ""
    up_to_date = False


rec = {"version": "1.0", "sequence": 3, "channel": "beta"}
d = fleet.cycle_doc(Cfg, Res(), None, rec, 5, NOW)
check("cycle: updated", d["outcome"] == "updated" and d["version"] == "1.0" and d["sequence"] == 3
      and d["channel"] == "beta" and d["target"] == "2.0" and d["bytes"] == 99, d)
res = Res()
res.up_to_date = True
check("cycle: up-to-date", fleet.cycle_doc(Cfg, res, None, rec, 5, NOW)["outcome"] == "up-to-date")
res = Res()
res.deferred = "battery 10% < 30%"
d = fleet.cycle_doc(Cfg, res, None, rec, 5, NOW)
check("cycle: deferred with its reason", d["outcome"] == "deferred" and d["reason"] == res.deferred, d)
d = fleet.cycle_doc(Cfg, None, OSError("fetch x: " + "e" * 900), None, -3, NOW)
check("cycle: failed, reason clipped, nothing installed", d["outcome"] == "failed" and len(d["reason"]) == 512
      and d["version"] == "" and d["duration_ms"] == 0 and d["channel"] == "stable", d)
check("cycle: time", d["time"] == "2026-11-30T05:00:00Z", d["time"])
check("no report_url: no report", fleet.after(Cfg, "b", Res(), None, rec, 1) is None)
Cfg.report_url = "http://127.0.0.1:9/v1/reports"  # nothing listens on the discard port
line = fleet.after(Cfg, "b", Res(), None, rec, 1)
check("service unreachable: queued, not raised", "queued" in line and len(fleet.queued(S)) == 1, line)
line = fleet.after(Cfg, "", Res(), None, rec, 1)
check("no device id: said, not raised", "device_id" in line, line)
fs.remove_tree(S)

# ferry.json: report_url and enroll_token are board keys (strings, default "").
from ferry import config
MIN = {"origin": "http://127.0.0.1:8080/", "root_keys": ["/root.pub"]}
c = config.parse(dict(MIN))
check("config: reports off by default", c.report_url == "" and c.enroll_token == "")
c = config.parse(dict(MIN, report_url="https://fleet.example.com/v1/reports", enroll_token="ferry-fleet-x"))
check("config: report keys accepted", c.report_url.endswith("/v1/reports") and c.enroll_token == "ferry-fleet-x")
try:
    config.parse(dict(MIN, report_url=5))
    check("config: a non-string report_url is refused", False)
except config.ConfigError as e:
    check("config: the refusal names report_url", "report_url" in str(e), e)

if failures:
    raise SystemExit(1)
print("ok test_fleet")
