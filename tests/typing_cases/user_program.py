"""A typical user program: sync and asyncio request/reply, pub/sub, polling."""

from __future__ import annotations

import asyncio
from typing import Any

import purezmq as zmq
import purezmq.asyncio as zaio


def serve_once(rep: zmq.SyncSocket) -> bytes:
    msg = rep.recv()
    rep.send(msg.upper())
    return msg


def sync_demo() -> list[bytes]:
    ctx: zmq.SyncContext = zmq.Context()
    rep = ctx.socket(zmq.REP)
    port: int = rep.bind_to_random_port("tcp://127.0.0.1")
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.setsockopt(zmq.RCVTIMEO, 2000)
    req.connect(f"tcp://127.0.0.1:{port}")
    req.send(b"hello")
    serve_once(rep)
    reply = req.recv()
    req.send_multipart([b"a", b"b"])
    parts = rep.recv_multipart()
    rep.send_string("ok")
    text: str = req.recv_string()
    req.send_json({"n": 1})
    obj: dict[str, Any] = rep.recv_json()
    rep.send(b"", copy=False)
    frame: zmq.Frame = req.recv(copy=False)
    poller = zmq.Poller()
    poller.register(req, zmq.POLLIN)
    ready = dict(poller.poll(10))
    if req in ready:
        print(ready[req])
    try:
        req.recv(zmq.NOBLOCK)
    except zmq.Again:
        pass
    except zmq.ZMQError as e:
        print(e.errno, e.strerror)
    with ctx.socket(zmq.PUB) as pub, ctx.socket(zmq.SUB) as sub:
        pub.bind("inproc://events")
        sub.connect("inproc://events")
        sub.subscribe(b"")
        sub.setsockopt_string(zmq.SUBSCRIBE, "x")
    print(zmq.zmq_version(), zmq.pyzmq_version(), text, obj, frame.bytes, len(frame))
    ctx.destroy(linger=0)
    return [reply, *parts]


async def async_demo() -> list[bytes]:
    ctx = zaio.Context()
    rep = ctx.socket(zmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    req = ctx.socket(zmq.REQ)
    req.connect(f"tcp://127.0.0.1:{port}")
    await req.send(b"ping")
    request: list[bytes] = await rep.recv_multipart()
    await rep.send_multipart(request)
    poller = zaio.Poller()
    poller.register(req, zmq.POLLIN)
    events = await poller.poll(1000)
    reply: bytes = await req.recv()
    print(events, await req.poll(0))
    ctx.destroy(linger=0)
    return [reply]


def main() -> None:
    print(sync_demo())
    print(asyncio.run(async_demo()))


if __name__ == "__main__":
    main()
