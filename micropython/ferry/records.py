# ferry/records.py: Ferry's own small records in the state folder (poll
# state, cached notes, the last-check record, the health log, schedule and
# trial-boot counters). Each is written whole to a temporary file, synced and
# renamed over the old one, so a power cut leaves the old record or the new;
# a record whose content did not change is not written at all (flash wear).
# Every filesystem call goes through ferry.fs, so the power-cut tests see them.

import json

from ferry import fs

MAX = 16384  # bytes of any one record read into RAM


def path(state, name):
    return state.rstrip("/") + "/" + name


def exists(state, name):
    return fs.exists(path(state, name))


def read(state, name, limit=MAX):
    # The record's bytes, or None when it does not exist.
    return fs.read_small(path(state, name), limit)


def write(state, name, data):
    # Atomically replace the record with data unless it already holds it.
    p = path(state, name)
    if fs.size(p) == len(data) and fs.read_small(p, len(data)) == data:
        return False
    fs.makedirs(state.rstrip("/") or "/")
    fs.write_atomic(p, data)
    return True


def remove(state, name):
    if not exists(state, name):
        return False
    fs.remove(path(state, name))
    fs.sync()
    return True


def read_json(state, name):
    # A JSON record, or None when it is missing or unreadable (a record is
    # a cache or a counter: a corrupt one starts afresh).
    data = read(state, name)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def write_json(state, name, value):
    return write(state, name, json.dumps(value).encode())


LAST = "last-check"  # "<check time> <last good time> <set|unset>\n": the only write of a no-change poll


def read_last(state):
    # (check time, last good time, clock set) from the last-check record.
    data = read(state, LAST, 64)
    if not data:
        return 0, 0, False
    try:
        t, good, how = data.decode().split()
        return int(t), int(good), how == "set"
    except ValueError:
        return 0, 0, False
