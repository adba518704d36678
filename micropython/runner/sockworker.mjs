// sockworker.mjs is the worker thread of the socket bridge (see
// sockbridge.mjs): it owns the real TCP sockets (net.Socket) and answers one
// request at a time through the shared buffer, while the main thread, which
// runs MicroPython, waits on it with Atomics.wait.
import { parentPort, workerData } from "node:worker_threads";
import net from "node:net";
import dns from "node:dns";
import os from "node:os";

const ctrl = new Int32Array(workerData.sab, 0, 4);
const data = new Uint8Array(workerData.sab, 16);
const E = os.constants.errno;
const HIGH = 1 << 20; // pause a socket once this much is queued unread

const conns = new Map();
let nextId = 1;

// reply answers the request numbered seq: the main thread waits for its
// own number in ctrl[0], so an answer to a request it gave up on (its wait
// timed out) is never taken for the answer to a later one.
function reply(seq, r) {
  Atomics.store(ctrl, 1, r);
  Atomics.store(ctrl, 0, seq);
  Atomics.notify(ctrl, 0);
}

function errno(err) {
  return -(E[err && err.code] || E.EIO);
}

// pending runs try() now and, while it returns null, again on every socket
// event, until it answers or the timeout (ms; <0 = none, 0 = EAGAIN) ends.
function pending(seq, c, timeout, attempt) {
  const r = attempt();
  if (r !== null) return reply(seq, r);
  if (timeout === 0) return reply(seq, -E.EAGAIN);
  let timer = null;
  const done = (v) => { c.waiter = null; if (timer) clearTimeout(timer); reply(seq, v); };
  c.waiter = () => { const v = attempt(); if (v !== null) done(v); };
  if (timeout > 0) timer = setTimeout(() => done(-E.ETIMEDOUT), timeout);
}

function wake(c) { if (c.waiter) c.waiter(); }

function open(seq, host, port, timeout) {
  const id = nextId++;
  const c = { sock: null, chunks: [], len: 0, eof: false, err: null, connected: false, waiter: null };
  conns.set(id, c);
  const s = net.connect({ host, port });
  c.sock = s;
  s.on("connect", () => { c.connected = true; wake(c); });
  s.on("data", (b) => {
    c.chunks.push(b); c.len += b.length;
    if (c.len > HIGH) s.pause();
    wake(c);
  });
  s.on("end", () => { c.eof = true; wake(c); });
  s.on("error", (e) => { c.err = e; wake(c); });
  s.on("close", () => { c.eof = true; wake(c); });
  pending(seq, c, timeout, () => {
    if (c.connected) return id;
    if (c.err) { conns.delete(id); return errno(c.err); }
    if (c.eof) { conns.delete(id); return -E.ECONNREFUSED; }
    return null;
  });
  // A connect that timed out leaves a socket no one will use.
  if (timeout > 0) setTimeout(() => { if (!c.connected) { s.destroy(); conns.delete(id); } }, timeout + 1);
}

// take copies up to max queued bytes (up to and including the first "\n"
// when line) into the shared buffer and returns how many, or null to wait.
function take(c, max, line) {
  if (c.len === 0) {
    if (c.err) return errno(c.err);
    return c.eof ? 0 : null;
  }
  let want = Math.min(max, c.len);
  if (line) {
    let seen = 0, nl = -1;
    for (const b of c.chunks) {
      const i = b.indexOf(10);
      if (i >= 0) { nl = seen + i; break; }
      seen += b.length;
    }
    if (nl < 0 && c.len < max && !c.eof && !c.err) return null;
    if (nl >= 0) want = Math.min(want, nl + 1);
  }
  let n = 0;
  while (n < want) {
    const b = c.chunks[0], k = Math.min(b.length, want - n);
    data.set(b.subarray(0, k), n);
    n += k;
    if (k === b.length) c.chunks.shift(); else c.chunks[0] = b.subarray(k);
  }
  c.len -= n;
  if (c.len < HIGH / 4 && c.sock.isPaused()) c.sock.resume();
  return n;
}

function send(seq, c, n, timeout) {
  if (c.err) return reply(seq, errno(c.err));
  if (c.eof || c.sock.destroyed) return reply(seq, -E.EPIPE);
  let done = false;
  const timer = timeout > 0 ? setTimeout(() => { done = true; reply(seq, -E.ETIMEDOUT); }, timeout) : null;
  c.sock.write(Buffer.from(data.subarray(0, n)), (err) => {
    if (done) return;
    if (timer) clearTimeout(timer);
    reply(seq, err ? errno(err) : n);
  });
}

function resolve(seq, host) {
  dns.lookup(host, { family: 4 }, (err, addr) => {
    if (err) return reply(seq, -E.ENOENT);
    const b = Buffer.from(addr);
    data.set(b, 0);
    reply(seq, b.length);
  });
}

parentPort.on("message", (m) => {
  const c = conns.get(m.id), seq = m.seq;
  switch (m.op) {
    case "resolve": return resolve(seq, m.host);
    case "connect": return open(seq, m.host, m.port, m.timeout);
    case "close":
      if (c) { c.sock.destroy(); conns.delete(m.id); }
      return reply(seq, 0);
  }
  if (!c) return reply(seq, -E.EBADF);
  switch (m.op) {
    case "send": return send(seq, c, m.n, m.timeout);
    case "recv": return pending(seq, c, m.timeout, () => take(c, m.n, false));
    case "recvline": return pending(seq, c, m.timeout, () => take(c, m.n, true));
    default: return reply(seq, -E.EINVAL);
  }
});
parentPort.postMessage("ready");
