# ferry/report.py: what ferry.status() (and `micropython/run DIR status`)
# prints, read-only: the installed release and its trial, a transaction in
# flight, the last check and whether the clock can be trusted, the latest
# entries of the health log, crashes and the releases not taken again; with
# a transport list (issue #17), the link last used, its signal (WiFi RSSI,
# cellular CSQ) and this month's spending (links.status_lines).

from ferry import board, cycle, health, records, schedule


def _iso(t):
    from ferry import trust
    return trust.fmt_time(t) if t else "never"


def lines(cfg, installer):
    out = []
    add = out.append
    inst = installer(cfg)
    rec = inst.installed()
    if rec:
        add("installed:     %s (channel %s, sequence %d, manifest %s)"
            % (rec.get("version"), rec.get("channel"), rec.get("sequence", 0), (rec.get("manifest") or "")[:16]))
        if rec.get("trial"):
            add("trial:         on trial, %d of max_trial_boots %d boots; the application calls ferry.confirm()"
                % (rec.get("boots", 0), cfg.max_trial_boots))
    else:
        add("installed:     none")
    # A release on trial keeps its journal (for rollback): that is no
    # transaction in flight.
    busy = inst.in_flight() is not None and not (rec and rec.get("trial"))
    add("transaction:   %s" % ("in flight (ferry.boot() finishes or undoes it)" if busy else "none"))
    t, good, set_ = cycle.read_last(cfg.state)
    add("last check:    %s" % _iso(t))
    if not board.trusted():
        add("clock:         not set: expiry is judged by the last good time %s; set it (ntptime.settime())" % _iso(good))
    elif t and not set_:
        add("clock:         was not set at the last check; last good time %s" % _iso(good))
    else:
        add("clock:         set")
    if getattr(cfg, "links", None) is not None:
        from ferry import links
        out.extend(links.status_lines(cfg))
    last, counts = health.latest(cfg.state)
    for kind in ("update", "rollback", "deferral", "error"):
        e = last.get(kind)
        add("%-14s %s" % ("last %s:" % kind, "never" if e is None else "%s  %s  %s" % (_iso(e[0]), e[1], e[2])))
    add("history:       %s" % (", ".join("%d %s" % (counts[k], k) for k in sorted(counts)) or "empty"))
    st = records.read_json(cfg.state, schedule.STATE) or {}
    if st.get("crashes"):
        add("crashes:       %d since the last finished check (latest: %s)" % (st["crashes"], st.get("cause", "")))
    for f in records.read_json(cfg.state, "failed.json") or []:
        add("failed:        %s at %s: %s" % (f.get("version"), _iso(f.get("at", 0)), f.get("reason")))
    return "\n".join(out)
