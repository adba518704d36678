// sockbridge.mjs gives MicroPython (the WebAssembly port, which has no
// socket module) real, blocking TCP sockets, so that the board's HTTP client
// runs unchanged on a PC.
//
// MicroPython runs on node's main thread and its calls must return
// synchronously, but node's sockets are asynchronous. So a worker thread
// (sockworker.mjs) owns the net.Sockets; each call posts one request to it
// and blocks the main thread with Atomics.wait on a SharedArrayBuffer until
// the worker stores the result there (a byte count, an id, or -errno) and
// the bytes (at most DATA a call), tagged with the request's number. Bytes move between that buffer and the
// MicroPython heap directly: Python passes uctypes.addressof(buffer) and the
// length, and the bridge copies to or from the wasm memory (captured when the
// module is instantiated, since the port does not export HEAPU8).
//
// The primitive is registered as the module `_ferrysock`; py/socket.py, put
// on sys.path by the runner only, builds MicroPython's socket API on it.
// There is no `ssl` module in the runner: tests use http:// origins on
// 127.0.0.1 (a board uses its port's ssl for https).
import { Worker } from "node:worker_threads";
import os from "node:os";

const DATA = 64 * 1024;
const E = os.constants.errno;

let memory = null;

// captureMemory wraps WebAssembly.instantiate so that the MicroPython
// module's memory is at hand; call it before loadMicroPython.
export function captureMemory() {
  const orig = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...a) => {
    const r = await orig.apply(WebAssembly, a);
    const inst = r.instance || r;
    if (inst.exports && inst.exports.memory) memory = inst.exports.memory;
    return r;
  };
}

// startSocketBridge starts the worker and registers `_ferrysock` in mp.
export async function startSocketBridge(mp) {
  if (!memory) throw new Error("sockbridge: captureMemory() was not called before loadMicroPython");
  const sab = new SharedArrayBuffer(16 + DATA);
  const ctrl = new Int32Array(sab, 0, 4);
  const data = new Uint8Array(sab, 16);
  const worker = new Worker(new URL("./sockworker.mjs", import.meta.url), { workerData: { sab } });
  await new Promise((ok, fail) => { worker.once("message", ok); worker.once("error", fail); });
  worker.unref();

  // call posts one request and blocks until the worker answers it (ctrl[0]
  // becomes the request's number), or gives up 10 s after its timeout.
  let seq = 0;
  const call = (msg, timeout) => {
    seq = seq % 0x7fffffff + 1;
    Atomics.store(ctrl, 0, 0);
    worker.postMessage({ ...msg, seq });
    const end = timeout < 0 ? Infinity : Date.now() + timeout + 10000;
    for (;;) {
      const v = Atomics.load(ctrl, 0);
      if (v === seq) return Atomics.load(ctrl, 1);
      const left = end - Date.now();
      if (left <= 0) return -E.ETIMEDOUT;
      Atomics.wait(ctrl, 0, v, left);
    }
  };
  const heap = (addr, n) => new Uint8Array(memory.buffer, addr, n);

  mp.registerJsModule("_ferrysock", {
    resolve(host) {
      const n = call({ op: "resolve", host: String(host) }, -1);
      return n < 0 ? n : Buffer.from(data.subarray(0, n)).toString();
    },
    connect: (host, port, timeout) => call({ op: "connect", host: String(host), port, timeout }, timeout),
    send(id, addr, n, timeout) {
      let done = 0;
      while (done < n) {
        const k = Math.min(DATA, n - done);
        data.set(heap(addr + done, k));
        const r = call({ op: "send", id, n: k, timeout }, timeout);
        if (r < 0) return done > 0 ? done : r;
        done += r;
      }
      return done;
    },
    recv: (id, addr, n, timeout) => recv("recv", id, addr, n, timeout),
    recvline: (id, addr, n, timeout) => recv("recvline", id, addr, n, timeout),
    close: (id) => call({ op: "close", id }, -1),
  });

  function recv(op, id, addr, n, timeout) {
    const r = call({ op, id, n: Math.min(n, DATA), timeout }, timeout);
    if (r > 0) heap(addr, r).set(data.subarray(0, r));
    return r;
  }
}
