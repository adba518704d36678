# The power-cut proof of an update on a flash model where a new file left
# open at the cut stays as an empty file (what littlefs leaves after the
# create commit of open()), not absent.
# Run: node micropython/runner/exec.mjs micropython/tests/test_powercut_torn.py
from pcreleases import RELS, V2, Proof, do_install, install_again, main, recover, with_v1

main([
    Proof("update, torn new files left empty", with_v1("empty"), lambda f: do_install(f, V2), recover,
          RELS, "v2", install_again(V2)),
])
