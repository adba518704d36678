# Tests of ferry.github's pure parts in real MicroPython (the stable channel
# against the fake GitHub is e2e TestMicroPythonGitHubStable):
#   node micropython/runner/exec.mjs micropython/tests/test_github.py
from ferry import github

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL", name, detail)


# internal/github.AssetName's mapping.
for path, want in (("channels/stable.note", "channels_stable.note"),
                   ("blobs/sha256/ab/abcd.z", "blobs_sha256_ab_abcd.z"),
                   ("a b", "a-20b"), (".hidden", "-2Ehidden"), ("x.", "x-2E"), ("caf\u00e9", "caf-C3-A9")):
    got = github.asset_name(path)
    check("asset name " + path, got == want, got)

# The release answer is scanned in chunks of any size; only the tag and the
# first download URL are kept.
doc = (b'{"url":"https://api/x","tag_name" : "v1.2","assets":[{"name":"channels_stable.note",'
       b'"browser_download_url":"https://gh.test/github.com/acme/app/releases/download/v1.2/channels_stable.note"},'
       b'{"browser_download_url":"https://other/x"}],"body":null}')
for size in (1, 2, 7, 64, len(doc)):
    s = github._Scan((b"tag_name", b"browser_download_url"))
    for i in range(0, len(doc), size):
        s.feed(memoryview(doc)[i:i + size])
    check("scan tag, chunks of %d" % size, s.found.get(b"tag_name") == "v1.2", s.found)
    check("scan url, chunks of %d" % size,
          s.found.get(b"browser_download_url") == "https://gh.test/github.com/acme/app/releases/download/v1.2/channels_stable.note",
          s.found)
    check("scan keeps little, chunks of %d" % size, len(s.tail) <= max(64, 2 * size + 200), len(s.tail))

# Tree listings: the objects of the "tree" array, whatever the chunking,
# braces and quotes inside strings included; "truncated": true is noticed.
tree = (b'{"sha":"t","tree":[{"mode":"100644","path":"a{b}.py","sha":"1","size":3,"type":"blob"},'
        b'{"mode":"040000","path":"lib","sha":"2","type":"tree"},'
        b'{"mode":"100644","path":"q\\"x]\\".py","sha":"3","size":1,"type":"blob"}],"truncated":false,"url":"u"}')
for size in (1, 3, 50, len(tree)):
    got = []
    o = github._Objects(got.append)
    for i in range(0, len(tree), size):
        o.feed(memoryview(tree)[i:i + size])
    import json
    paths = [json.loads(g)["path"] for g in got]
    check("tree objects, chunks of %d" % size, paths == ["a{b}.py", "lib", 'q"x]".py'], paths)
    check("not truncated, chunks of %d" % size, not o.truncated)
o = github._Objects(lambda e: None)
for i in range(0, 40, 7):
    o.feed(b'{"sha":"t","tree":[],"truncated":true}'[i:i + 7])
check("truncated noticed", o.truncated)

# Hostile answers: seeded mutations of both documents, in random chunks,
# end in a value or a GitHubError/ValueError, never another exception.
import random  # noqa: E402

random.seed(14)
bad = 0
for i in range(400):
    src = bytearray(tree if i % 2 else doc)
    for _ in range(random.randint(1, 6)):
        op = random.randint(0, 2)
        at = random.randint(0, len(src) - 1)
        if op == 0:
            src[at] = random.getrandbits(8)
        elif op == 1:
            src = src[:at] + src[at + random.randint(1, 20):]
        else:
            src = src[:at] + bytes([random.choice(b'{}[]":,\\ ')]) + src[at:]
    try:
        if i % 2:
            o = github._Objects(lambda e: json.loads(e))
            feeder = o.feed
        else:
            sc = github._Scan((b"tag_name", b"browser_download_url"))
            feeder = sc.feed
        pos = 0
        while pos < len(src):
            n = random.randint(1, 64)
            feeder(memoryview(src)[pos:pos + n])
            pos += n
    except (github.GitHubError, ValueError):
        pass
    except Exception as e:
        bad += 1
        print("mutation %d: %s: %s" % (i, type(e).__name__, e))
check("hostile answers fail cleanly", bad == 0, bad)

if failures:
    raise SystemExit(1)
print("ok test_github")
