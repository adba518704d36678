# ferry/mods.py: import a module for one step of the update, release it
# after.
#
# On a board that loads the package from .py or .mpy files, a module's
# compiled code lives in the heap for as long as the module is referenced
# (only modules frozen into the firmware do not), and the package's code is
# several times the update's own data. So the cycle (cycle.py) holds only
# what its current step needs: the HTTP client while it downloads, the
# Ed25519/SHA-512/signed-note code while it verifies, the installer while it
# plans and installs. need() imports; release() forgets every ferry module
# imported since the first need() after the last release() (by need() or by
# the modules it loaded), so that, once no object of theirs is left, a
# collection frees their code. A module imported before (by the
# application, or a test that replaced it) is never released here. What a
# step keeps across a release must not be an instance of a class with
# methods from a released module (that would keep its code, and a second
# copy would be loaded): cycle.py copies such results into plain values.

import gc
import sys

_before = None  # the modules imported when the current session began
_pinned = set()  # modules never released: a live object of theirs is kept (pin())


def need(name):
    # The module ferry.<name>, imported now if it is not already.
    global _before
    if _before is None:
        _before = set(sys.modules)
    full = "ferry." + name
    m = sys.modules.get(full)
    if m is None:
        __import__(full)
        m = sys.modules[full]
    return m


def release(keep=()):
    # Forget the ferry modules imported since the session began (but those
    # named in keep: the session goes on with them), then collect.
    global _before
    if _before is not None:
        kept = False
        for full in [k for k in sys.modules if k.startswith("ferry.") and k not in _before]:
            if full[6:] in keep:
                kept = True
                continue
            if full in _pinned:
                continue
            drop(full[6:])
        if not kept:
            _before = None
    gc.collect()


def pin(name):
    # Never release ferry.<name> again: an object that lives on (the
    # config's links.Policy, run()'s lora.Listener) is an instance of its
    # classes, so its code stays in the heap anyway, and releasing the
    # module would only make the next import load a second copy (twice the
    # code, and two module states: a test's or a driver's settings in one,
    # not seen by the other).
    _pinned.add("ferry." + name)


def pinned(name):
    return ("ferry." + name) in _pinned


def drop(name):
    # Forget the module ferry.<name> now (no collection).
    import ferry
    sys.modules.pop("ferry." + name, None)
    try:
        delattr(ferry, name)
    except AttributeError:
        pass


def loaded():
    # The ferry modules imported now, short names, sorted (for reports).
    return sorted(k[6:] for k in sys.modules if k.startswith("ferry."))
