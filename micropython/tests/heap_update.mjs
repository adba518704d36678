// heap_update.mjs measures the live heap of one update cycle in real
// MicroPython (the WebAssembly port, under node):
//
//	node micropython/tests/heap_update.mjs ORIGIN_URL ROOT_PUB [CONFIG_JSON [NEXT_ORIGIN_URL]]
//
// With NEXT_ORIGIN_URL, the board first installs what ORIGIN_URL serves (not
// measured), confirms it, and the cycle measured is the update to what
// NEXT_ORIGIN_URL serves (the same releases and one more: by the update
// bundle where the origin has it).
// The flash is /flash in the interpreter's memory: ferry.json (origin,
// root_keys, target /flash, state /flash/.ferry, and CONFIG_JSON's keys) and
// root.pub. In this port gc.collect() reclaims nothing while a runPython call
// runs (the collector cannot see the WebAssembly stack, so it collects only
// at the top level, between calls), so the cycle is driven from here one
// step at a time (ferry.cycle.Cycle.steps(): each document, each file):
// after every step garbage is collected at the top level and gc.mem_alloc()
// is the live heap, everything included: the interpreter's own objects, the
// package's compiled code (loaded from .py files it lives in the heap; the
// cycle imports a module for the step that needs it and releases it after,
// ferry/mods.py), interned names, and the update's data. The cycle holds each
// step's modules at the step's end, where the heap is measured. It prints the
// cycle's one-line result, then
//
//	heap: baseline B bytes (...), peak P bytes over S steps
//	peak at step N: the ferry modules loaded then
//	  P1 bytes at step N1 with MODULES   (the highest heap for each set of modules)
//
// and exits 0, or prints the failure and exits 1.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const runner = path.resolve(here, "..", "runner");
const { captureMemory, startSocketBridge } = await import(path.join(runner, "sockbridge.mjs"));
const { copyIn } = await import(path.join(runner, "mpfs.mjs"));
const { loadMicroPython } = await import(path.join(runner, "node_modules", "@micropython",
  "micropython-webassembly-pyscript", "micropython.mjs"));

async function main([origin, rootPub, extra, next]) {
  if (!origin || !rootPub) {
    process.stderr.write("usage: node heap_update.mjs ORIGIN_URL ROOT_PUB [CONFIG_JSON]\n");
    return 2;
  }
  captureMemory();
  const mp = await loadMicroPython({
    stdout: (l) => process.stdout.write(l + "\n"),
    stderr: (l) => process.stderr.write(l + "\n"),
  });
  copyIn(mp.FS, path.resolve(here, ".."), "/pkg");
  copyIn(mp.FS, path.join(runner, "py"), "/runner");
  await startSocketBridge(mp);
  mp.FS.mkdir("/flash");
  mp.FS.writeFile("/flash/root.pub", fs.readFileSync(rootPub));
  const cfg = { origin, root_keys: ["/flash/root.pub"], target: "/flash", state: "/flash/.ferry",
    ...JSON.parse(extra || "{}") };
  mp.FS.writeFile("/flash/ferry.json", JSON.stringify(cfg));
  try {
    mp.runPython(`import sys\nsys.path.insert(0, "/pkg")\nsys.path.append("/runner")\nimport gc\nfrom ferry import cycle, mods`);
    if (next) {
      mp.runPython("cy = cycle.Cycle(mods.need('config').load('/flash/ferry.json'))\nmods.release()\nfor _ in cy.steps():\n    pass\nprint('first: ' + str(cy.res))\ncy = None\nimport ferry\nferry.confirm('/flash/ferry.json')");
      mp.FS.writeFile("/flash/ferry.json", JSON.stringify({ ...cfg, origin: next }));
    }
    mp.runPython("gc.collect()");
    mp.runPython("base = gc.mem_alloc()\ncy = cycle.Cycle(mods.need('config').load('/flash/ferry.json'))\nmods.release()\ng = cy.steps()\npeak = 0\nsteps = 0\nat = ''\nsets = {}");
    for (;;) {
      mp.runPython("try:\n    next(g)\n    more = True\nexcept StopIteration:\n    more = False");
      mp.runPython("gc.collect()");
      mp.runPython("m = gc.mem_alloc()\nsteps += 1\nk = ' '.join(mods.loaded())\nif m > sets.get(k, (0, 0))[0]:\n    sets[k] = (m, steps)\nif m > peak:\n    peak = m\n    at = 'step %d: %s' % (steps, k)");
      if (!mp.globals.get("more")) break;
    }
    mp.runPython("g = None\nprint(cy.res)\nprint('heap: baseline %d bytes (the interpreter, ferry and ferry.cycle imported), peak %d bytes over %d steps' % (base, peak, steps))\nprint('peak at ' + at)\nfor k in sets:\n    print('  %d bytes at step %d with %s' % (sets[k][0], sets[k][1], k))");
  } catch (e) {
    process.stderr.write(String(e && e.message ? e.message : e) + "\n");
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
