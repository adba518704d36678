// exec.mjs runs one Python file in real MicroPython (the WebAssembly port)
// under node, with the Ferry package importable:
//
//	node micropython/runner/exec.mjs [--heap BYTES] [--async] FILE.py [ARGS...]
//
// With --async the file runs with runPythonAsync: a top-level await returns
// to JavaScript, the only place this port collects garbage (gc.collect()
// in a synchronous run frees nothing), so a file that awaits between steps
// can measure its live heap.
// The package folder (micropython/) and FILE's folder are copied into the
// interpreter's in-memory filesystem and put on sys.path (as /pkg and /test);
// sys.argv is [FILE, ARGS...]. The runner's py/ folder (/runner: the socket
// module of the socket bridge, see sockbridge.mjs) comes last on sys.path. The exit code is 0 when the file ran to its end, 1 when it
// raised (the traceback goes to stderr), or what it passed to sys.exit().
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { captureMemory, startSocketBridge } from "./sockbridge.mjs";
import { copyIn } from "./mpfs.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, "..");

async function main(argv) {
  let heap = 1 << 20, runAsync = false;
  if (argv[0] === "--heap") { heap = Number(argv[1]); argv = argv.slice(2); }
  if (argv[0] === "--async") { runAsync = true; argv = argv.slice(1); }
  if (argv.length < 1) {
    process.stderr.write("usage: node exec.mjs [--heap BYTES] [--async] FILE.py [ARGS...]\n");
    return 2;
  }
  const file = path.resolve(argv[0]);
  captureMemory();
  const mp = await loadMicroPython({
    heapsize: heap,
    stdout: (l) => process.stdout.write(l + "\n"),
    stderr: (l) => process.stderr.write(l + "\n"),
  });
  copyIn(mp.FS, pkg, "/pkg");
  copyIn(mp.FS, path.dirname(file), "/test");
  copyIn(mp.FS, path.join(here, "py"), "/runner");
  await startSocketBridge(mp);
  mp.globals.set("_argv", [file, ...argv.slice(1)]);
  const code = `import sys\nsys.path.insert(0, "/pkg")\nsys.path.insert(0, "/test")\nsys.path.append("/runner")\nsys.argv[:] = list(_argv)\n`;
  try {
    mp.runPython(code);
    const src = fs.readFileSync(file, "utf8");
    if (runAsync) await mp.runPythonAsync(src);
    else mp.runPython(src);
  } catch (e) {
    return exitCode(e);
  }
  return 0;
}

// exitCode turns what MicroPython raised into a process exit code.
function exitCode(e) {
  const m = /SystemExit:? ?(\d+)?/.exec(String(e && e.message));
  if (m) return m[1] === undefined ? 0 : Number(m[1]);
  process.stderr.write(String(e && e.message ? e.message : e) + "\n");
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
