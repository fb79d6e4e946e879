// The draft reference peer for tests/test_drafts_cs.py: libzmq 4.3.5 (with
// drafts) through npm's zeromq 6. One role per run:
//
//   node drafts_cs_peer.js ROLE bind|connect ENDPOINT COUNT
//
// ROLE: server (echo COUNT requests back to their sender's routing id, "echo:"
// prefixed), client (send COUNT requests "m<i>", check each echo), scatter
// (send COUNT messages "s<i>"), gather (receive COUNT, print them as JSON).
// With "bind" the first line out is "ENDPOINT <the address bound>". The last
// line is "OK ..." on success; any failure exits non-zero. ZEROMQ_DIR is the
// node_modules directory holding zeromq. A watchdog ends the run after 40 s.
"use strict";
process.removeAllListeners("warning"); // "draft features are experimental"
const path = require("path");
const zmq = require(path.join(process.env.ZEROMQ_DIR, "zeromq", "draft"));

const [role, mode, endpoint, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const watchdog = setTimeout(() => {
  console.error("peer: watchdog expired");
  process.exit(3);
}, 40000);

const classes = { server: zmq.Server, client: zmq.Client, scatter: zmq.Scatter, gather: zmq.Gather };

async function main() {
  const sock = new classes[role]({ linger: 5000 });
  if (mode === "bind") {
    await sock.bind(endpoint);
    console.log("ENDPOINT " + sock.lastEndpoint);
  } else {
    sock.connect(endpoint);
  }
  if (role === "server") {
    const ids = new Set();
    for (let i = 0; i < count; i++) {
      const [msg, { routingId }] = await sock.receive();
      ids.add(routingId);
      await sock.send(Buffer.concat([Buffer.from("echo:"), msg]), { routingId });
    }
    console.log("OK " + JSON.stringify([...ids]));
  } else if (role === "client") {
    for (let i = 0; i < count; i++) {
      await sock.send("m" + i);
      const [reply] = await sock.receive();
      if (reply.toString() !== "echo:m" + i) throw new Error("bad reply " + reply.toString());
    }
    console.log("OK");
  } else if (role === "scatter") {
    for (let i = 0; i < count; i++) await sock.send("s" + i);
    console.log("OK");
  } else if (role === "gather") {
    const got = [];
    for (let i = 0; i < count; i++) {
      const [msg] = await sock.receive();
      got.push(msg.toString());
    }
    console.log("OK " + JSON.stringify(got));
  }
  sock.close();
  clearTimeout(watchdog);
}

main().catch((e) => {
  console.error("peer: " + (e && e.stack ? e.stack : e));
  process.exit(2);
});
