// The ws:// reference peer for tests/test_ws.py: libzmq 4.3.5 through npm's
// zeromq 6 (built with ws://, without wss://). One role per run:
//
//   node ws_peer.js ROLE bind|connect ENDPOINT COUNT [OPTIONS_JSON]
//
// ROLE: push (send COUNT messages), pull (receive COUNT, check each), req
// (send COUNT requests, check each reply), rep (answer COUNT requests).
// Message i has FRAMES frames of 1000 octets; frame j starts "m<i>f<j>|" and
// is padded with the octet (i * 31 + j * 7) % 256 (tests/test_ws.py's
// frame()). A reply is the request with one more frame, "reply<i>", in front.
// OPTIONS_JSON: socket options for the constructor (e.g. heartbeatInterval).
// With "bind" the first line out is "ENDPOINT <address bound>". The last line
// is "OK ..." on success; any failure exits non-zero. ZEROMQ_DIR is the
// node_modules directory holding zeromq. A watchdog ends the run after 40 s.
"use strict";
const path = require("path");
const zmq = require(path.join(process.env.ZEROMQ_DIR, "zeromq"));

const [role, mode, endpoint, countArg, optionsArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const FRAMES = 3;
const watchdog = setTimeout(() => {
  console.error("peer: watchdog expired");
  process.exit(3);
}, 40000);

function frame(i, j) {
  const b = Buffer.alloc(1000, (i * 31 + j * 7) % 256);
  b.write(`m${i}f${j}|`, 0, "latin1");
  return b;
}

function message(i) {
  const parts = [];
  for (let j = 0; j < FRAMES; j++) parts.push(frame(i, j));
  return parts;
}

function check(got, i, extra) {
  const want = message(i);
  if (extra) want.unshift(Buffer.from(extra));
  if (got.length !== want.length) throw new Error(`message ${i}: ${got.length} frames`);
  for (let j = 0; j < want.length; j++) {
    if (!got[j].equals(want[j])) throw new Error(`message ${i} frame ${j} differs`);
  }
}

const classes = { push: zmq.Push, pull: zmq.Pull, req: zmq.Request, rep: zmq.Reply };

async function main() {
  const options = Object.assign({ linger: 5000 }, optionsArg ? JSON.parse(optionsArg) : {});
  const sock = new classes[role](options);
  if (mode === "bind") {
    await sock.bind(endpoint);
    console.log("ENDPOINT " + sock.lastEndpoint);
  } else {
    sock.connect(endpoint);
  }
  if (role === "push") {
    for (let i = 0; i < count; i++) await sock.send(message(i));
  } else if (role === "pull") {
    for (let i = 0; i < count; i++) check(await sock.receive(), i);
  } else if (role === "req") {
    for (let i = 0; i < count; i++) {
      await sock.send(message(i));
      check(await sock.receive(), i, `reply${i}`);
    }
  } else if (role === "rep") {
    for (let i = 0; i < count; i++) {
      const req = await sock.receive();
      check(req, i);
      await sock.send([Buffer.from(`reply${i}`), ...req]);
    }
  }
  console.log("OK " + count);
  sock.close();
  clearTimeout(watchdog);
}

main().catch((e) => {
  console.error("peer: " + (e && e.stack ? e.stack : e));
  process.exit(2);
});
