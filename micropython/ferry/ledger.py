# ferry/ledger.py: <state>/budget.json, what updates over a costly link cost
# per calendar month, and when the release waiting for a free link was first
# seen (issue #17; the board's copy of internal/link's Ledger).
#
# Months are local time: UTC + utc_offset_min (the board has no zone
# database), keyed "YYYY-MM"; a new month starts from nothing; twelve months
# are kept. The record is small JSON written atomically through records.py
# (a power cut leaves the old ledger or the new) and survives reboots:
#
#   {"months": {"2026-11": 0.6}, "pending": "<manifest sha256 hex>", "first_seen": 1796000400}
#
# first_seen is unix seconds (Linux writes RFC 3339; a board has no use for
# it). A damaged ledger is refused with an error naming it, never read as
# "nothing spent": the device must not spend freely after a torn write or an
# edit.

import json

from ferry import board, records

FILE = "budget.json"
MONTHS_KEPT = 12
MAX = 2048  # bytes: twelve months and a pending release are ~300


class LedgerError(ValueError):
    pass


class Ledger:
    def __init__(self, state, offset_min=0, now=None):
        self.state = state
        self.off = offset_min * 60
        self.now = now or board.now

    def path(self):
        return records.path(self.state, FILE)

    def month(self, t):
        g = board.gmtime(t + self.off)
        return "%04d-%02d" % (g[0], g[1])

    def read(self):
        data = records.read(self.state, FILE, MAX)
        if data is None:
            return {"months": {}}
        try:
            f = json.loads(data)
            if not isinstance(f, dict) or not isinstance(f.get("months", {}), dict):
                raise ValueError("not a ledger")
            for v in f.get("months", {}).values():
                if type(v) not in (int, float) or v < 0:
                    raise ValueError("bad amount")
        except ValueError as e:
            raise LedgerError("budget ledger %s is damaged (%s): fix or delete it" % (self.path(), e))
        f.setdefault("months", {})
        return f

    def write(self, f):
        m = f["months"]
        if len(m) > MONTHS_KEPT:
            for k in sorted(m)[: len(m) - MONTHS_KEPT]:
                del m[k]
        records.write(self.state, FILE, json.dumps(f).encode())

    def spent(self, t=None):
        # What updates cost in t's calendar month (local time).
        t = self.now() if t is None else t
        return self.read()["months"].get(self.month(t), 0)

    def charge(self, cost, t=None):
        # Add cost to t's calendar month.
        if cost <= 0:
            return
        t = self.now() if t is None else t
        f = self.read()
        k = self.month(t)
        f["months"][k] = f["months"].get(k, 0) + cost
        self.write(f)

    def first_seen(self, key, t=None):
        # When the release key (its manifest digest, hex) was first seen,
        # recording t if it is new. One release is pending at a time: a newer
        # one starts its own wait.
        t = self.now() if t is None else t
        f = self.read()
        if f.get("pending") == key and f.get("first_seen"):
            return f["first_seen"]
        f["pending"], f["first_seen"] = key, int(t)
        self.write(f)
        return int(t)
