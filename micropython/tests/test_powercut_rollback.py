# The power-cut proof of rollbacks: of an update on trial, of a first
# install on trial, and the rollback boot() does when max_trial_boots boots
# went by unconfirmed, each cut at every filesystem operation (and the
# recovery after it too). Run:
#   node micropython/runner/exec.mjs micropython/tests/test_powercut_rollback.py
from pcreleases import RELS, V1, Proof, again, call, do_install, fresh_flash, main, recover, with_v1


def fresh_v1_trial():
    f = fresh_flash()
    do_install(f, V1, trial=True)
    f.arm()
    return f


main([
    Proof("rollback", with_v1(trial2=True), lambda f: call(f, "rollback"), recover, RELS, "v1", again("rollback")),
    Proof("rollback of a first install", fresh_v1_trial, lambda f: call(f, "rollback"), recover,
          RELS, "none", again("rollback")),
    Proof("boot after max_trial_boots", with_v1(trial2=True, boots=2), lambda f: call(f, "boot", 2), recover,
          RELS, "v1", again("boot", 2)),
])
