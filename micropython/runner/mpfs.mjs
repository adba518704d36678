// mpfs.mjs copies folders between the host and MicroPython's in-memory
// filesystem (emscripten's MEMFS).
import fs from "node:fs";
import path from "node:path";

// copyIn copies the host folder src into the MicroPython filesystem at dst,
// leaving out node_modules and dot-folders.
export function copyIn(FS, src, dst) {
  try { FS.mkdir(dst); } catch (e) { /* exists */ }
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const s = path.join(src, e.name), d = dst + "/" + e.name;
    if (e.isDirectory()) copyIn(FS, s, d);
    else if (e.isFile()) FS.writeFile(d, fs.readFileSync(s));
  }
}

// loadTree copies every file and folder of the host folder src into the
// MicroPython filesystem at dst (dot-files included: this is a flash
// image). Anything but files and folders is an error naming it.
export function loadTree(FS, src, dst) {
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name), d = (dst === "/" ? "" : dst) + "/" + e.name;
    if (e.isDirectory()) {
      FS.mkdir(d);
      loadTree(FS, s, d);
    } else if (e.isFile()) {
      FS.writeFile(d, fs.readFileSync(s));
    } else {
      throw new Error(`${s}: not a regular file or folder: a board's flash holds only those`);
    }
  }
}

// mirrorTree makes the host folder dst hold exactly what the MicroPython
// folder src holds (names in skip left out at the top): files created or
// changed are written, files and folders gone are removed. Unchanged files
// are not touched. It returns the counts.
export function mirrorTree(FS, src, dst, skip = new Set(), counts = { written: 0, removed: 0 }) {
  const names = new Set();
  for (const name of FS.readdir(src)) {
    if (name === "." || name === ".." || skip.has(name)) continue;
    names.add(name);
    const s = (src === "/" ? "" : src) + "/" + name, d = path.join(dst, name);
    const st = FS.stat(s);
    const host = lstatOrNull(d);
    if (FS.isDir(st.mode)) {
      if (host && !host.isDirectory()) { fs.rmSync(d, { recursive: true }); counts.removed++; }
      if (!host || !host.isDirectory()) fs.mkdirSync(d);
      mirrorTree(FS, s, d, new Set(), counts);
      continue;
    }
    if (host && host.isDirectory()) { fs.rmSync(d, { recursive: true }); counts.removed++; }
    const data = FS.readFile(s);
    if (host && host.isFile() && host.size === data.length && Buffer.from(data).equals(fs.readFileSync(d))) continue;
    fs.writeFileSync(d, data);
    counts.written++;
  }
  for (const name of fs.readdirSync(dst)) {
    if (!names.has(name)) { fs.rmSync(path.join(dst, name), { recursive: true }); counts.removed++; }
  }
  return counts;
}

function lstatOrNull(p) {
  try { return fs.lstatSync(p); } catch (e) { return null; }
}
