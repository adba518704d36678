# The power-cut proof of health-gated installs: an install on trial and its
# confirm, each cut at every filesystem operation (and the
# recovery after it too). Run:
#   node micropython/runner/exec.mjs micropython/tests/test_powercut_trial.py
from pcreleases import RELS, V2, Proof, again, call, do_install, install_again, main, recover, with_v1


main([
    Proof("install on trial", with_v1(), lambda f: do_install(f, V2, trial=True), recover,
          RELS, "v2*", install_again(V2, trial=True)),
    Proof("confirm", with_v1(trial2=True), lambda f: call(f, "confirm"), recover, RELS, "v2", again("confirm")),
])
