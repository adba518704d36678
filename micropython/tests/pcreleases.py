"""The releases and helpers of the power-cut proofs (test_powercut*.py)."""
import time

from installkit import Proof, Release, call, do_install, fresh_flash, which

V1 = Release("1.0", {
    "main.py": b"print('v1')\n",
    "lib/a.py": b"a" * 700,
    "lib/b.py": b"b = 1\n",
    "lib/old/gone.py": b"gone\n",
    "x": b"x is a file in 1.0\n",
    "conf/c.txt": b"c is a folder in 1.0\n",
    "conf/sub/d.txt": b"a folder in a folder that becomes a file\n",
    "same.py": b"unchanged\n",
}, 1)
V2 = Release("1.1", {
    "main.py": b"print('v2')\n",           # changed
    "lib/a.py": b"A" * 700,                 # changed, same size
    "lib/new/n.py": b"new folder\n",        # new folder
    "x/y.py": b"x is a folder in 1.1\n",    # file -> folder
    "conf": b"conf is a file in 1.1\n",     # folder -> file
    "same.py": b"unchanged\n",              # untouched
    "z.py": b"",                            # empty file added
}, 2)                                        # lib/b.py, lib/old/ deleted


# 1.1 again under a new version: every file is in place, only the record
# (and the stored manifest) change.
V2B = Release("1.1b", V2.files, 3)

RELS = {"none": None, "v1": V1, "v2": V2, "v2b": V2B}


def recover(f):
    call(f, "recover")


def with_v1(torn="absent", trial2=False, boots=0):
    """A setup: 1.0 installed; with trial2, 1.1 on trial after boots boots."""
    def setup():
        f = fresh_flash(torn)
        do_install(f, V1)
        if trial2:
            do_install(f, V2, trial=True)
            for _ in range(boots):
                assert call(f, "boot", boots) == "trial"
        f.arm()
        return f
    return setup


def again(name, *args):
    """A finish: while the release is still on trial, run installer method
    name again; returns the outcome."""
    def finish(f, out):
        g = f.copy()
        g.arm()
        if out.endswith("*"):
            call(g, name, *args)
        return _name(g)
    return finish


def install_again(rel, trial=False):
    """A finish: install rel again (up to date when it is there)."""
    def finish(f, out):
        g = f.copy()
        g.arm()
        do_install(g, rel, trial=trial)
        return _name(g)
    return finish


def _name(f):
    return which(f, RELS)


def main(proofs):
    t0 = time.ticks_ms()
    total = 0
    for p in proofs:
        p.run()
        print(p.report())
        assert p.points > 0 and p.recovery_points > 0, p.name + ": no cut points"
        total += p.points + p.recovery_points
    print("power-cut proof: %d cut points in all, %d ms" % (total, time.ticks_diff(time.ticks_ms(), t0)))
