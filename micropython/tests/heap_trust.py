# The live heap while a board checks the chain of trust of a 200-file
# release: signing-key list, channel pointer, the manifest's signature
# streamed from flash, and every entry of the manifest. Driven by
# internal/mpyvec's TestHeap (vectors in argv[1]) through a runner that
# uses runPythonAsync: this port of MicroPython collects garbage only when
# control returns to JavaScript, so every step awaits before it measures.
# Prints "peak live heap: N bytes (M above the imported modules) at STEP".
import sys
import gc
import asyncio
import time

folder = sys.argv[1]
NOW = int(open(folder + "/now.txt").read())
PEAK = [0, ""]
BASE = [0]
STEPS = [0]


async def step(where):
    await asyncio.sleep(0)
    gc.collect()
    n = gc.mem_alloc()
    STEPS[0] += 1
    if n > PEAK[0]:
        PEAK[0], PEAK[1] = n, where


async def drive(g, where):
    while True:
        try:
            next(g)
        except StopIteration as e:
            return e.value
        await step(where)


def read(name):
    with open(folder + "/" + name, "rb") as f:
        return f.read()


async def live():
    await asyncio.sleep(0)
    gc.collect()
    return gc.mem_alloc()


async def imports():
    # The heap each module takes once imported (compiled from source here;
    # a board running .mpy or frozen modules needs less or none).
    global trust, note, mf
    sizes = []
    before = await live()
    for name in ("", "sha512", "ed25519", "note", "vkey", "manifest", "trust"):
        __import__("ferry." + name if name else "ferry")  # "": the package's __init__
        n = await live()
        sizes.append("%s %d" % (name or "ferry/__init__", n - before))
        before = n
    from ferry import trust, note, manifest as mf
    print("module heap: " + ", ".join(sizes))


async def main():
    start = await live()
    await imports()
    BASE[0] = await live()
    print("heap before the imports: %d bytes; after: %d" % (start, BASE[0]))
    roots, t = trust.parse_root(read("root.pub"), 1)
    await step("root.pub")
    text, _ = await drive(note.open_note_steps(read("keys.note"), roots, t), "signing-key list")
    kl = trust.parse_key_list(text, NOW)
    text = None
    await step("signing-key list parsed")
    msg = read("pointer.note")
    ts = []
    for _ in range(5):  # one signature check, timed without the awaits
        t0 = time.ticks_us()
        note.open_note(msg, kl.verifiers("refresh"), 1)
        ts.append(time.ticks_diff(time.ticks_us(), t0))
        await step("channel pointer, timed")
    ts.sort()
    print("channel pointer (%d bytes, one Ed25519 signature) verified in %d ms (median of 5; fastest %d ms)" % (
        len(msg), ts[2] // 1000, ts[0] // 1000))
    text, _ = await drive(note.open_note_steps(msg, kl.verifiers("refresh"), 1), "channel pointer")
    msg = None
    p = trust.parse_pointer(text)
    trust.check_pointer(p, "stable", NOW)
    text = None
    await step("channel pointer parsed")
    buf = bytearray(512)
    with open(folder + "/manifest.note", "rb") as f:
        t0 = time.ticks_ms()
        size, _, _ = await drive(note.open_file_steps(f, kl.verifiers("release"), 1, buf, p.manifest,
                                                       lambda: trust.MismatchError("manifest sha256")), "manifest signature")
        t1 = time.ticks_ms()
        print("manifest note of %d bytes verified in %d ms (SHA-512 in %s)" % (
            f.tell(), time.ticks_diff(t1, t0), "hashlib" if hasattr(__import__("hashlib"), "sha512") else "pure Python"))
        m = mf.Manifest(f, size, 250, 1 << 20, 64 << 20, buf=bytearray(mf.MAX_LINE + 1))
        trust.check_manifest(m, p, NOW)
        n = 0
        for e in m.files():
            n += 1
            await step("manifest entries")
    print("200 entries streamed in %d ms" % time.ticks_diff(time.ticks_ms(), t1))
    if n != 200:
        raise AssertionError("%d entries" % n)
    print("steps measured: %d" % STEPS[0])
    print("peak live heap: %d bytes (%d above the imported modules) at %s" % (PEAK[0], PEAK[0] - BASE[0], PEAK[1]))


await main()
