"""A ZMQStream echo server and a ZMQStream client on tornado's IOLoop.

The server is a ROUTER whose recv callback sends every message straight back;
the client is a DEALER that sends a few requests and counts the echoes.
Both are callbacks on one loop; nothing blocks.

Run: python examples/zmqstream_echo.py      (needs: pip install purezmq[tornado])
"""

import asyncio

import purezmq as zmq
from purezmq.eventloop.zmqstream import ZMQStream

N = 5


async def main() -> None:
    ctx = zmq.Context()

    server = ZMQStream(ctx.socket(zmq.ROUTER))
    port = server.bind_to_random_port("tcp://127.0.0.1")
    # [routing id, body...] in, the same frames out: an echo.
    server.on_recv(server.send_multipart)

    client = ZMQStream(ctx.socket(zmq.DEALER))
    client.connect(f"tcp://127.0.0.1:{port}")
    finished = asyncio.Event()
    replies = []

    def on_reply(msg: list) -> None:
        print("echo:", msg[0].decode())
        replies.append(msg)
        if len(replies) == N:
            finished.set()

    client.on_recv(on_reply)
    for i in range(N):
        client.send_string(f"hello {i}")  # queued; sent by the loop

    await asyncio.wait_for(finished.wait(), 5)
    client.close(linger=0)
    server.close(linger=0)
    ctx.term()
    print("done")


if __name__ == "__main__":
    asyncio.run(main())  # tornado 6's IOLoop is the asyncio loop
