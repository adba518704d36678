# Tests of ferry/mbundle.py, the update bundle's decoder (format:
# internal/mbundle's doc). Bundles made here by a small encoder (the port's
# deflate compresses with the board's window) must decode to the new note
# and the changed files; truncated, corrupted and hostile ones (over the
# caps, copies outside their source, unknown commands, data after the end)
# must be refused with MismatchError, never another exception, leaving no
# staged file and no note; a changed base file or a 404 means the per-file
# path, with nothing written. With a folder as argv[1] (internal/mpyvec's
# TestMBundleVectors): bundles made by the Go encoder and seeded mutations
# of them, each with the verdict of Go's reference decoder (mbundle.Apply),
# which the board must reach too.
import sys
import random

from ferry import fetch, fs, http, mbundle
from ferry.errors import MismatchError
from mbkit import bundle, hx, sha, uv, zlib, zz

checks = [0]


def check(name, ok, detail=""):
    if not ok:
        raise AssertionError("%s: %s" % (name, detail))
    checks[0] += 1


class Cfg:
    def __init__(self, target, state="/s", files=500, file_mb=1, total_mb=2):
        self.target, self.state = target, state
        self.max_files, self.max_file_mb, self.max_total_mb = files, file_mb, total_mb


def put(path, data):
    fs.makedirs(path[:path.rfind("/")])
    f = fs.open_write(path)
    f.write(data)
    f.close()


def read(path):
    f = fs.open_read(path)
    b = f.read()
    f.close()
    return b


def line(p, c):
    return b"f 0644 %d %d %s %s\n" % (len(c), len(c) // 2 + 9, hx(sha(c)).encode(), p.encode())


def note(version, files):
    text = b"ferry-manifest 1\nchannel stable\nversion " + version + b"\nfiles %d\n" % len(files)
    for p in sorted(files):
        text += line(p, files[p])
    return text + b"\n\xe2\x80\x94 ferry-signing-1 c2lnbmF0dXJl\n"


OLD = {"main.py": b"print('v1')\n" * 20, "lib/a.py": b"A = 1\n" * 50, "lib/b.py": b"B = 2\n" * 30}
NEW = {"main.py": b"print('v1')\n" * 19 + b"print('v2')\n", "lib/a.py": OLD["lib/a.py"], "lib/b.py": b"B = 3\n" + OLD["lib/b.py"],
       "lib/c.py": b"C = 'new file'\n"}
ON, NN = note(b"1.0", OLD), note(b"2.0", NEW)
BASE = "/s/manifests/" + hx(sha(ON))
MPATH = "/s/downloads/manifest.note"


def install_old():
    fs.remove_tree("/t")
    fs.remove_tree("/s")
    for p, c in OLD.items():
        put("/t/" + p, c)
    put(BASE, ON)
    fs.makedirs("/s/downloads")


def ready():
    d = "/s/downloads/ready"
    return sorted(e[0] for e in fs.ilistdir(d)) if fs.kind(d) == "d" else []


def decode(cmds, cfg=None, raw=None):
    # mbundle.apply on a bundle: None when accepted, else the exception.
    put("/s/downloads/b.z", raw if raw is not None else zlib(cmds))
    try:
        mbundle.apply(cfg or Cfg("/t"), "/s/downloads/b.z", BASE, MPATH, len(NN), sha(NN), None)
        return None
    except Exception as e:
        return e


def test_roundtrip():
    install_old()
    err = decode(bundle(ON, NN, OLD, NEW))
    check("a good bundle decodes", err is None, repr(err))
    check("the note is the new one", read(MPATH) == NN)
    for p in ("main.py", "lib/b.py", "lib/c.py"):
        check("ready " + p, read("/s/downloads/ready/" + hx(sha(NEW[p]))) == NEW[p])
    check("only the changed files", len([r for r in ready() if len(r) == 64]) == 3, ready())


def refused(name, err, why):
    check(name + ": refused with MismatchError", isinstance(err, MismatchError), repr(err))
    check(name + ": says " + why, why in err.args[0], err.args[0])
    check(name + ": nothing made past the caps", fs.kind(MPATH) != "f" or fs.size(MPATH) <= len(NN))


def test_hostile():
    install_old()
    good = bundle(ON, NN, OLD, NEW)
    z = zlib(good)
    refused("cut short", decode(None, raw=z[:len(z) // 2]), "")
    refused("not zlib", decode(None, raw=b"FMB1 plain text, not zlib"), "does not decode")
    refused("another magic", decode(b"FMB2" + good[4:]), "not a version-1")
    refused("data after the end", decode(good + b"E"), "after the end")
    refused("no end", decode(good[:-1]), "ends early")
    refused("too many files", decode(good, Cfg("/t", files=2)), "max_files is 2")
    zeros = b"\0" * ((1 << 20) + 1)
    big = b"FMB1" + uv(1) + uv(0) + uv(len(zeros)) + b"L" + uv(len(zeros)) + zeros + b"E"
    refused("a file over max_file_mb", decode(big), "over max_file_mb")
    check("a file over max_file_mb: nothing staged", not [r for r in ready() if r != "sums"], ready())
    two = b"FMB1" + uv(2) + uv(0) + uv(600000) + b"L" + uv(600000) + zeros[:600000] + b"E" + uv(0) + uv(600000)
    refused("files over max_total_mb", decode(two, Cfg("/t", total_mb=1)), "max_total_mb")
    lit = b"FMB1" + uv(1) + uv(0) + uv(5) + b"L" + uv(6) + b"abcdef" + b"E"
    refused("a literal longer than the file", decode(lit), "makes more than 5")
    zero = b"FMB1" + uv(1) + uv(0) + uv(5) + b"L" + uv(0) + b"L" + uv(5) + b"abcde" + b"E"
    refused("a zero-length command", decode(zero), "makes more than")
    nobase = b"FMB1" + uv(1) + uv(0) + uv(5) + b"C" + zz(0) + uv(5) + b"E"
    refused("a copy without a base", decode(nobase), "a copy of 5 bytes")
    ref = ON.find(line("lib/a.py", OLD["lib/a.py"])) + 1
    past = b"FMB1" + uv(1) + uv(ref) + uv(400) + b"C" + zz(0) + uv(301) + b"E"
    refused("a copy past the end of its base", decode(past), "a copy of 301 bytes from byte 0 of 300")
    before = b"FMB1" + uv(1) + uv(ref) + uv(400) + b"C" + zz(-1) + uv(3) + b"E"
    refused("a copy before the start of its base", decode(before), "from byte -1")
    mid = b"FMB1" + uv(1) + uv(ref + 3) + uv(1) + b"L" + uv(1) + b"x" + b"E"
    refused("a base that is not a line start", decode(mid), "not a file line")
    refused("unknown command", decode(b"FMB1" + uv(0) + b"X"), "unknown command 88")
    refused("a digest in a file", decode(b"FMB1" + uv(1) + uv(0) + uv(64) + b"H" + b"E"), "unknown command 72")
    refused("a note of another size", decode(b"FMB1" + uv(0) + b"L" + uv(3) + b"abc" + b"E"), "a note of 3 bytes")
    nh = good.rfind(b"H")
    refused("a digest too few", decode(good[:nh] + good[nh + 1:]), "")
    refused("a digest too many", decode(good[:nh] + b"H" + good[nh:]), "a digest too many")
    lit = b"L" + uv(64) + hx(sha(NEW["main.py"])).encode()  # the last H is main.py's
    refused("a digest as a literal, its file unused", decode(good[:nh] + lit + good[nh + 1:]), "1 digests left")
    wrong = good.replace(b"new file", b"new fild")
    check("another content: made", wrong != good)
    refused("another content", decode(wrong), "the signed channel pointer does not name")
    rnd = random.Random(7) if hasattr(random, "Random") else None
    for i in range(60):
        m = bytearray(good)
        for _ in range(1 + (random.getrandbits(2) if rnd is None else rnd.getrandbits(2))):
            m[random.getrandbits(16) % len(m)] = random.getrandbits(8)
        err = decode(bytes(m))
        check("mutation %d: refused or the exact note" % i, isinstance(err, MismatchError) or (err is None and read(MPATH) == NN), repr(err))


class Log:
    def __init__(self):
        self.lines = []

    def __call__(self, s):
        self.lines.append(s)


class Ptr:
    manifest, manifest_size = sha(NN), len(NN)


class Cy:
    links = None

    def __init__(self, cfg):
        self.cfg = cfg
        self.log = Log()

    def url(self, path):
        return "http://origin.test/" + path

    def feed(self):
        pass


class Res:
    downloaded = 0


def serve(body):
    # fetch._stream from memory: body, or a 404 for None.
    def stream(url, sink, cap, cfg, feed):
        check("the bundle's URL", url == "http://origin.test/deltas/%s/%s.mbundle" % (hx(sha(ON)), hx(sha(NN))), url)
        if body is None:
            raise http.HTTPError(url + ": HTTP 404", 404)
        check("the cap holds the honest bundle", len(body) <= cap, (len(body), cap))
        sink(body)
        return len(body)
    fetch._stream = stream


def test_manifest_step():
    real = fetch._stream
    try:
        install_old()
        serve(None)
        res = Res()
        check("404: the per-file path", mbundle.manifest(Cy(Cfg("/t")), Ptr, MPATH, res, BASE) is False)
        check("404: nothing written", fs.kind("/s/downloads/bundle.z") is None and fs.kind(MPATH) is None and not ready())
        body = zlib(bundle(ON, NN, OLD, NEW))
        serve(body)
        check("a bundle: taken", mbundle.manifest(Cy(Cfg("/t")), Ptr, MPATH, res, BASE) is True)
        check("a bundle: its bytes counted", res.downloaded == len(body), res.downloaded)
        check("a bundle: the note", read(MPATH) == NN and fs.kind("/s/downloads/bundle.z") is None)
        install_old()
        serve(body[:-9])
        try:
            mbundle.manifest(Cy(Cfg("/t")), Ptr, MPATH, res, BASE)
            check("a cut bundle is refused", False)
        except MismatchError as e:
            check("the refusal names the bundle", ".mbundle: " in e.args[0], e.args[0])
        check("a refused bundle leaves nothing", fs.kind(MPATH) is None and not ready() and fs.kind("/s/downloads/bundle.z") is None, ready())
        put("/t/lib/b.py", b"B = 9\n" + OLD["lib/b.py"][6:])  # the same size, another content
        serve(body)
        cy = Cy(Cfg("/t"))
        check("a changed base: the per-file path", mbundle.manifest(cy, Ptr, MPATH, res, BASE) is False)
        check("a changed base: logged", cy.log.lines and "lib/b.py" in cy.log.lines[0], cy.log.lines)
        check("a changed base: nothing left", fs.kind(MPATH) is None and not ready(), ready())
    finally:
        fetch._stream = real


def test_adopt():
    # install.Txn.needed() stages a ready file for the op naming its digest
    # (not yielded: nothing to download), after checking it again; a ready
    # file that does not hold its name's content is not taken.
    from ferry import install
    fs.remove_tree("/i")
    fs.makedirs("/i/t")
    good = b"good content\n"
    put("/i/s/downloads/ready/" + hx(sha(good)), good)
    put("/i/s/downloads/ready/" + hx(sha(b"x")), b"y")
    inst = install.Installer(target="/i/t", state="/i/s")
    t = inst.begin({"channel": "stable", "version": "2", "sequence": 2, "manifest": "00" * 32})
    t.plan([(0o644, len(good), 0, hx(sha(good)), "a.txt"), (0o644, 1, 0, hx(sha(b"x")), "b.txt")])
    ops = [op.path for op in t.needed()]
    check("the ready file is staged, not yielded", ops == ["b.txt"], ops)
    check("staged by a rename", read(inst.stage_path(0)) == good and fs.kind("/i/s/downloads/ready/" + hx(sha(good))) is None)
    t.abort()


def test_space():
    # The plan counts the bundle's staged files as room (they move into the
    # stage): an update that fits once staged is not refused for want of a
    # second copy's space; the same bytes elsewhere are not room.
    import flashmodel
    from ferry import install
    content = b"x" * 4000
    got = []
    for where in ("/s/downloads/ready/" + hx(sha(content)), "/s/other"):
        fs.use(flashmodel.Flash(block=512, blocks=25))
        try:
            fs.makedirs("/t")
            fs.makedirs("/s/downloads/ready")
            put(where, content)
            inst = install.Installer(target="/t", state="/s")
            t = inst.begin({"channel": "stable", "version": "2", "sequence": 2, "manifest": "00" * 32})
            try:
                t.plan([(0o644, len(content), 0, hx(sha(content)), "big.bin")])
                got.append("ok")
                t.abort()
            except install.NoSpaceError:
                got.append("no space")
        finally:
            fs.use(None)
    check("staged by the bundle: room; elsewhere: not", got == ["ok", "no space"], got)


def test_go(folder):
    # Go's bundles and verdicts: "NAME VERDICT TARGET NOTESIZE NOTESHA [DIGEST...]".
    n = 0
    for ln in open(folder + "/cases.txt"):
        f = ln.split()
        name, verdict, target, size, want = f[0], f[1], folder + "/" + f[2], int(f[3]), f[4]
        c = Cfg(target, "/g")
        fs.remove_tree("/g")
        fs.makedirs("/g/downloads")
        try:
            mbundle.apply(c, folder + "/" + name, folder + "/old.note", "/g/downloads/m", size, bytes.fromhex(want), None)
            got = "ok"
        except mbundle.Stale:
            got = "base"
        except MismatchError as e:
            got = "bad"
            why = e.args[0]
        check("%s: Go says %s" % (name, verdict), got == verdict, got if got != "bad" else "bad: " + why)
        if got == "ok":
            check(name + ": the note", hx(sha(read("/g/downloads/m"))) == want)
            for d in f[5:]:
                check(name + ": file " + d[:12], hx(sha(read("/g/downloads/ready/" + d))) == d)
        n += 1
    print("%d Go vectors" % n)


test_roundtrip()
test_hostile()
test_manifest_step()
test_adopt()
test_space()
if len(sys.argv) > 1:
    test_go(sys.argv[1])
print("ok test_mbundle (%d checks)" % checks[0])
