# The power-cut proof of an install that fails in the middle of its swap and
# undoes itself: a user's file in a folder the new release turns into a file
# stops the swap (ConflictError), and the undo runs at once; a cut at every
# operation of the install and of that undo (and of the recovery after)
# leaves exactly 1.0. Run:
#   node micropython/runner/exec.mjs micropython/tests/test_powercut_abort.py
import installkit
from ferry import install

installkit.UNMANAGED["/conf/mine"] = b"a user's file in a folder 1.1 makes a file\n"

from pcreleases import V1 as A, V2 as B, Proof, Release, do_install, fresh_flash, main, recover  # noqa: E402

V1 = Release(A.version, A.files, A.seq)  # trees with the user's file
V2 = Release(B.version, B.files, B.seq)
RELS = {"v1": V1, "v2": V2}


def setup():
    f = fresh_flash()
    f.dirs.add("/conf")
    do_install(f, V1)
    f.arm()
    return f


def update(f):
    try:
        do_install(f, V2)
    except install.ConflictError as e:
        assert "'conf'" in str(e), e
        return
    raise AssertionError("the update went through a folder with a user's file in it")


def retry(f, out):
    g = f.copy()
    g.arm()
    update(g)
    return installkit.which(g, RELS)


main([Proof("update undone after a conflict in its swap", setup, update, recover, RELS, "v1", retry)])
