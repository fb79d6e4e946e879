"""REQ/REP with purezmq.asyncio: a server task and a client task on one loop.

Run: python examples/asyncio_reqrep.py
"""

import asyncio

import purezmq as zmq
import purezmq.asyncio


async def server(sock: zmq.asyncio.Socket, n: int) -> None:
    for _ in range(n):
        request = await sock.recv_string()
        await sock.send_string(request.upper())


async def client(sock: zmq.asyncio.Socket, n: int) -> None:
    for i in range(n):
        await sock.send_string(f"hello {i}")
        print("reply:", await sock.recv_string())


async def main() -> None:
    ctx = zmq.asyncio.Context()
    rep = ctx.socket(zmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    req = ctx.socket(zmq.REQ)
    req.connect(f"tcp://127.0.0.1:{port}")
    await asyncio.gather(server(rep, 5), client(req, 5))
    ctx.destroy(linger=0)
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
