// A scriptable libzmq 4.3.5 (with drafts) for the tests: npm's zeromq 6, driven
// one JSON command per line on stdin, one JSON answer per line on stdout
// (tests/helpers.py's NodeDriver). Any socket type by number, so PEER (19) and
// CHANNEL (20), which zeromq.js has no class for, too; any option by number
// through zeromq.js's native setters (setInt32Option, setStringOption).
//
// Commands ({"op": ..., "id": socket name, ...}), each answered {"ok": true, ...}
// or {"ok": false, "error": CODE, "message": ...}:
//   socket  type, opts (constructor options: linger, routingId, ...),
//           int / str ({"97": 3}: option number -> value, set before bind/connect)
//   bind    ep -> endpoint (the address bound)      connect / disconnect  ep
//   send    frames (latin1 strings), rid (SERVER routing id), group (RADIO)
//   recv    timeout (ms) -> frames, rid (SERVER), group (DISH); EAGAIN on timeout
//   close   ; exit (ends the process)
// Frames travel as latin1 strings so that any octet survives JSON. ZEROMQ_DIR
// is the node_modules directory holding zeromq. The process ends when stdin
// closes, and a watchdog ends it after 60 s without a command.
"use strict";
process.removeAllListeners("warning"); // "draft features are experimental"
const path = require("path");
const readline = require("readline");
const zmq = require(path.join(process.env.ZEROMQ_DIR, "zeromq"));

const ROUTED = new Set([12, 19]); // SERVER, PEER: routing ids on messages
const sockets = new Map();
let watchdog = null;

function arm() {
  if (watchdog) clearTimeout(watchdog);
  watchdog = setTimeout(() => {
    console.error("node_driver: watchdog expired");
    process.exit(3);
  }, 60000);
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function run(cmd) {
  const s = sockets.get(cmd.id);
  switch (cmd.op) {
    case "socket": {
      const sock = new zmq.Socket(cmd.type, cmd.opts || {});
      for (const [k, v] of Object.entries(cmd.int || {})) sock.setInt32Option(Number(k), v);
      for (const [k, v] of Object.entries(cmd.str || {}))
        sock.setStringOption(Number(k), Buffer.from(v, "latin1"));
      sockets.set(cmd.id, sock);
      return {};
    }
    case "bind":
      await s.bind(cmd.ep);
      return { endpoint: s.lastEndpoint };
    case "connect":
      s.connect(cmd.ep);
      return {};
    case "disconnect":
      s.disconnect(cmd.ep);
      return {};
    case "send": {
      const frames = cmd.frames.map((f) => Buffer.from(f, "latin1"));
      const meta = {};
      if (cmd.rid !== undefined) meta.routingId = cmd.rid;
      if (cmd.group !== undefined) meta.group = Buffer.from(cmd.group, "latin1");
      if (Object.keys(meta).length) await s.send(frames[0], meta);
      else await s.send(frames.length === 1 ? frames[0] : frames);
      return {};
    }
    case "recv": {
      s.setInt32Option(27, cmd.timeout === undefined ? 10000 : cmd.timeout); // RCVTIMEO
      const got = await s.receive();
      const out = { frames: [] };
      for (const part of got) {
        if (Buffer.isBuffer(part)) out.frames.push(part.toString("latin1"));
        else if (part && typeof part === "object") {
          if (part.routingId !== undefined) out.rid = part.routingId;
          if (part.group !== undefined) out.group = Buffer.from(part.group).toString("latin1");
        }
      }
      if (ROUTED.has(s.type) && out.rid === undefined) out.rid = null;
      return out;
    }
    case "close":
      s.close();
      sockets.delete(cmd.id);
      return {};
    case "exit":
      for (const sock of sockets.values()) sock.close();
      reply({ ok: true });
      process.exit(0);
    default:
      throw new Error("unknown op " + cmd.op);
  }
}

arm();
const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on("line", (line) => {
  arm();
  chain = chain.then(async () => {
    let cmd;
    try {
      cmd = JSON.parse(line);
      reply({ ok: true, ...(await run(cmd)) });
    } catch (e) {
      reply({ ok: false, error: (e && e.code) || "ERROR", message: String(e && e.message) });
    }
  });
});
rl.on("close", () => {
  chain.then(() => {
    for (const sock of sockets.values()) sock.close();
    process.exit(0);
  });
});
