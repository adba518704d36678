// run.mjs is micropython/run: it runs the Ferry package as a board would,
// in real MicroPython on a PC:
//
//	micropython/run DIR update|status|recover|confirm|rollback
//
// DIR is the board's flash: its files and folders are copied into the
// interpreter's in-memory filesystem as the root (/), so DIR/ferry.json is
// the config /ferry.json and DIR/.ferry the state. The command calls
// ferry.<command>() of this repository's micropython/ferry package (kept
// outside the flash, at /.ferry-runner, with the socket module of the
// runner's socket bridge: real TCP for http:// origins, no ssl), prints its
// one-line result (status: its lines) and writes the flash back to DIR:
// files created or changed are written, files and folders removed are
// removed, unchanged files are not touched. A command that raises prints
// "ferry: <message>" on stderr and exits 1 (the flash is still written
// back: it is what the board would hold); bad usage exits 2.
//
// Heap: MicroPython starts with a 192 KiB heap (a Pico W has about 190 KB
// for the application and the updater), but this port grows its heap on
// demand past that, so the size is not a limit here: the memory bound is
// measured by the tests with gc.mem_alloc().
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { captureMemory, startSocketBridge } from "./sockbridge.mjs";
import { copyIn, loadTree, mirrorTree } from "./mpfs.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const HEAP = 192 * 1024;
const COMMANDS = ["update", "status", "recover", "confirm", "rollback"];
const RUNNER = "/.ferry-runner";
const SYSTEM = new Set(["dev", "proc", RUNNER.slice(1)]); // not the flash's

function usage(msg) {
  if (msg) process.stderr.write(`micropython/run: ${msg}\n`);
  process.stderr.write(`usage: micropython/run DIR ${COMMANDS.join("|")}\n`);
  return 2;
}

async function main(argv) {
  if (argv.length !== 2) return usage();
  const [dir, cmd] = argv;
  if (!COMMANDS.includes(cmd)) return usage(`unknown command "${cmd}"`);
  let st;
  try { st = fs.statSync(dir); } catch (e) { return usage(`${dir}: ${e.code === "ENOENT" ? "no such folder" : e.message}`); }
  if (!st.isDirectory()) return usage(`${dir}: not a folder`);
  for (const name of SYSTEM) {
    if (fs.existsSync(path.join(dir, name))) return usage(`${dir}/${name}: the runner needs that name for itself: move it away`);
  }

  captureMemory();
  const mp = await loadMicroPython({
    heapsize: HEAP,
    stdout: (l) => process.stdout.write(l + "\n"),
    stderr: (l) => process.stderr.write(l + "\n"),
  });
  const FS = mp.FS;
  for (const d of ["/tmp", "/home"]) rmTree(FS, d);
  loadTree(FS, dir, "/");
  FS.mkdir(RUNNER);
  copyIn(FS, path.join(here, "..", "ferry"), RUNNER + "/ferry");
  copyIn(FS, path.join(here, "py"), RUNNER);
  FS.chdir("/");
  await startSocketBridge(mp);

  let code = 0;
  try {
    mp.runPython(`import sys\nsys.path.insert(0, "${RUNNER}")\nimport ferry\n_r = ferry.${cmd}()\n` +
      `print("\\n".join(_r) if isinstance(_r, (list, tuple)) else str(_r))\n`);
  } catch (e) {
    process.stderr.write("ferry: " + lastLine(e) + "\n");
    if (process.env.FERRY_RUN_TRACE) process.stderr.write(String(e.message) + "\n");
    code = 1;
  }
  mirrorTree(FS, "/", dir, SYSTEM);
  return code;
}

// lastLine is the exception line of a MicroPython traceback, without its
// type when it is a plain Exception.
function lastLine(e) {
  const lines = String(e && e.message ? e.message : e).trim().split("\n");
  return lines[lines.length - 1].replace(/^Exception: /, "");
}

function rmTree(FS, p) {
  let st;
  try { st = FS.stat(p); } catch (e) { return; }
  if (FS.isDir(st.mode)) {
    for (const n of FS.readdir(p)) if (n !== "." && n !== "..") rmTree(FS, p + "/" + n);
    FS.rmdir(p);
  } else {
    FS.unlink(p);
  }
}

process.exitCode = await main(process.argv.slice(2));
