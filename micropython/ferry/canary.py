# ferry/canary.py: whether this board takes a verified release now (the
# canary check of ferry-agent): not a release whose trial failed here
# (<state>/failed.json), and within a staged rollout only when the board's
# bucket (ferry.bucket: a hash of device_id, or of machine.unique_id())
# is below the rollout's percent.
from binascii import hexlify

from ferry import FAILED, _device_id, bucket, records


def admit(c, p):
    # "" when the pointer p's release may be installed, else why not.
    h = hexlify(p.manifest).decode()
    for f in records.read_json(c.state, FAILED) or []:
        if f.get("manifest") == h:
            return "release %s failed its trial (%s): waiting for a newer release" % (f.get("version"), f.get("reason"))
    if p.rollout < 100:
        dev = _device_id(c)
        if not dev:
            return "staged rollout at %d%% and no device id: set device_id" % p.rollout
        b = bucket(dev, p.version)
        if b >= p.rollout:
            return "staged rollout at %d%%: this device's bucket is %d" % (p.rollout, b)
    return ""
