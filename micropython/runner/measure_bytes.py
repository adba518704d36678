#!/usr/bin/env python3
"""Estimates, from an origin folder published with --for linux,micropython,
the bytes a MicroPython board and the Linux agent download for an update
from release OLD to NEW, and for a fresh install of NEW:

    python3 micropython/runner/measure_bytes.py ORIGIN OLD NEW

For each content NEW adds or changes, the board takes the smaller of its
.mpatch (from the content at the same path in OLD) and its .z blob, plus the
manifest; the Linux agent's per-file path takes the smaller of its .patch
and .zst blob, and its update bundle (deltas/*/*.bundle) when there is one.
These are the files' sizes on the origin, not a measurement of the agents'
traffic (the pointer, key list and HTTP headers are left out of both).

Example (this repository, main against HEAD):
    go build -o /tmp/ferry ./cmd/ferry && /tmp/ferry keygen --out /tmp/k
    /tmp/ferry release --git . --ref main --version 1.0 --keys /tmp/k --origin /tmp/o --for linux,micropython --zstd off
    /tmp/ferry release --git . --ref HEAD --version 1.1 --keys /tmp/k --origin /tmp/o --for linux,micropython --zstd off
    python3 micropython/runner/measure_bytes.py /tmp/o 1.0 1.1
"""
import glob
import os
import sys


def manifest(origin, version):
    files = {}
    with open(os.path.join(origin, "releases", version, "manifest.note"), encoding="utf-8", errors="replace") as f:
        for line in f:
            p = line.split(" ", 5)
            if p[0] == "f" and len(p) == 6:
                files[p[5].rstrip("\n")] = p[4]
    return files


def size(origin, rel):
    p = os.path.join(origin, rel)
    return os.path.getsize(p) if os.path.exists(p) else None


def main(origin, old, new):
    a, b = manifest(origin, old), manifest(origin, new)
    blob = lambda h, ext: size(origin, "blobs/sha256/%s/%s.%s" % (h[:2], h, ext))
    board = linux = 0
    seen = set()
    for path, h in sorted(b.items()):
        o = a.get(path)
        if o == h or h in seen:
            continue
        seen.add(h)
        mp = size(origin, "deltas/%s/%s.mpatch" % (o, h)) if o else None
        lp = size(origin, "deltas/%s/%s.patch" % (o, h)) if o else None
        board += min(x for x in (blob(h, "z"), mp) if x is not None)
        linux += min(x for x in (blob(h, "zst"), lp) if x is not None)
    m = size(origin, "releases/%s/manifest.note" % new)
    bundles = [os.path.getsize(p) for p in glob.glob(os.path.join(origin, "deltas", "*", "*.bundle"))]
    print("update %s -> %s: %d contents new or changed of %d files" % (old, new, len(seen), len(b)))
    print("  board:              %d bytes (%d of files + %d manifest)" % (board + m, board, m))
    print("  linux, per file:    %d bytes (%d of files + %d manifest, or less with its patch)" % (linux + m, linux, m))
    if bundles:
        print("  linux, bundle:      %d bytes (the smallest update bundle on the origin)" % min(bundles))
    hs = set(b.values())
    z, zst = sum(blob(h, "z") for h in hs), sum(blob(h, "zst") for h in hs)
    print("fresh install of %s: board %d bytes of .z, linux %d bytes of .zst (x%.2f)" % (new, z, zst, z / zst))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
