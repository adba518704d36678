# ferry/health.py: the bounded health log behind ferry.status(): updates,
# rollbacks, deferrals and errors, one line each in <state>/health.log:
#
#   <unix time> <kind> <version or -> <message>
#
# When the log holds error_history_limit lines it is renamed to health.log.1
# (replacing the older one) and a new log begins, so at most twice the limit
# is kept. An entry is added by copying the small log to a temporary file
# with the line appended and renaming it over (a power cut keeps the old log
# or the new one; ferry.fs offers no append mode).
# A routine "up to date" is not logged (flash wear): the last-check record
# holds the last check.

from ferry import board, fs, records

LOG = "health.log"
OLD = "health.log.1"
MSG_MAX = 160
KINDS = ("update", "rollback", "deferral", "error", "start")


def _lines(state, name):
    p = records.path(state, name)
    if not fs.exists(p):
        return
    f = fs.open_read(p)
    try:
        buf = bytearray(256)
        line = b""
        while True:
            n = f.readinto(buf)
            if not n:
                break
            line += bytes(buf[:n])
            while True:
                i = line.find(b"\n")
                if i < 0:
                    break
                yield line[:i].decode()
                line = line[i + 1:]
            if len(line) > 512:  # a torn line: skip it
                line = b""
    finally:
        f.close()


def count(state):
    n = 0
    for _ in _lines(state, LOG):
        n += 1
    return n


def add(state, limit, kind, version, message, t=None):
    # Append one entry; rotate when the log is full. Never raises: a
    # failing log must not fail an update.
    try:
        records_dir = state.rstrip("/") or "/"
        fs.makedirs(records_dir)
        if count(state) >= limit:
            fs.rename(records.path(state, LOG), records.path(state, OLD))
        msg = message.replace("\n", " ")[:MSG_MAX]
        line = "%d %s %s %s\n" % (board.now() if t is None else t, kind, version or "-", msg)
        _append(records.path(state, LOG), line.encode())
    except Exception as e:  # noqa: the log is best effort
        print("ferry: health log:", e)


def _append(p, data):
    # littlefs has no cheap append through ferry.fs's modes: copy the small
    # log to a temporary file with the line added, then rename it over.
    tmp = p + ".tmp"
    w = fs.open_write(tmp)
    try:
        if fs.exists(p):
            r = fs.open_read(p)
            try:
                buf = bytearray(256)
                while True:
                    n = r.readinto(buf)
                    if not n:
                        break
                    w.write(buf[:n] if n < len(buf) else buf)
            finally:
                r.close()
        w.write(data)
    finally:
        w.close()
    fs.rename(tmp, p)
    fs.sync()


def latest(state):
    # {kind: (time, version, message)} of the newest entry of each kind,
    # and {kind: count} over the kept history.
    last, counts = {}, {}
    for name in (OLD, LOG):
        for line in _lines(state, name):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                continue
            try:
                t = int(parts[0])
            except ValueError:
                continue
            last[parts[1]] = (t, parts[2], parts[3])
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    return last, counts
