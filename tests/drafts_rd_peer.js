// The node (libzmq 4.3.5 with drafts) peer of tests/test_drafts_rd.py.
//   node drafts_rd_peer.js radio bind|connect ENDPOINT GROUP COUNT
//     sends rounds of COUNT messages "m<i>" in GROUP (and "x<i>" in group
//     "other") until stdin closes; prints "READY <last_endpoint>" first.
//   node drafts_rd_peer.js dish bind|connect ENDPOINT GROUP COUNT
//     joins GROUP, prints "READY ...", then "<group> <body>" for each message;
//     "DONE" once COUNT distinct bodies came; exits when stdin closes.
//   node drafts_rd_peer.js dgram bind ENDPOINT
//     echoes every [address, body] back to its sender.
"use strict"
process.removeAllListeners("warning")
const draft = require("zeromq/draft")
const [role, how, endpoint, group, countText] = process.argv.slice(2)
const count = Number(countText || 0)
let stop = false
process.stdin.on("end", () => { stop = true; setTimeout(() => process.exit(0), 50) })
process.stdin.resume()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function main() {
  if (role === "radio") {
    const s = new draft.Radio()
    if (how === "bind") await s.bind(endpoint); else s.connect(endpoint)
    console.log("READY " + (s.lastEndpoint || endpoint))
    for (let round = 0; round < 2000 && !stop; round++) {
      for (let i = 0; i < count; i++) {
        await s.send("x" + i, { group: "other" })
        await s.send("m" + i, { group })
      }
      await sleep(20)
    }
  } else if (role === "dish") {
    const s = new draft.Dish()
    if (how === "bind") await s.bind(endpoint); else s.connect(endpoint)
    s.join(group)
    console.log("READY " + (s.lastEndpoint || endpoint))
    const seen = new Set()
    while (!stop) {
      const [msg, opts] = await s.receive()
      console.log(opts.group.toString() + " " + msg.toString())
      seen.add(msg.toString())
      if (seen.size === count) console.log("DONE")
    }
  } else if (role === "dgram") {
    const s = new draft.Datagram()
    await s.bind(endpoint)
    console.log("READY " + (s.lastEndpoint || endpoint))
    while (!stop) {
      const [addr, body] = await s.receive()
      await s.send([addr, body])
    }
  }
}
main().catch((e) => { console.log("ERROR " + e); process.exit(1) })
