# The power-cut proof of ferry.install: a cut at every filesystem operation
# of an install, then recovery (itself cut at every operation, then run
# again), leaves exactly the old or the new release, and finishing reaches
# the new one. Run: node micropython/runner/exec.mjs micropython/tests/test_powercut.py
from pcreleases import RELS, V1, V2, V2B, Proof, do_install, fresh_flash, install_again, main, recover, with_v1


def with_v2():
    f = with_v1()()
    do_install(f, V2)
    f.arm()
    return f


main([
    Proof("fresh install", fresh_flash, lambda f: do_install(f, V1), recover, RELS, "v1", install_again(V1)),
    Proof("update (adds, changes, deletes, folders, file<->folder)", with_v1(), lambda f: do_install(f, V2),
          recover, RELS, "v2", install_again(V2)),
    Proof("new release, files already in place", with_v2, lambda f: do_install(f, V2B), recover,
          RELS, "v2b", install_again(V2B)),
])
