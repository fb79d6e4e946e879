"""PUB/SUB with purezmq.asyncio: a publisher and two subscribers with timeouts.

Run: python examples/asyncio_pubsub.py
"""

import asyncio

import purezmq as zmq
import purezmq.asyncio


async def publisher(pub: zmq.asyncio.Socket, stop: asyncio.Event) -> None:
    i = 0
    while not stop.is_set():  # subscriptions arrive asynchronously: keep publishing
        await pub.send_multipart([b"weather", b"sunny %d" % i])
        await pub.send_multipart([b"news", b"headline %d" % i])
        i += 1
        await asyncio.sleep(0.01)


async def subscriber(sub: zmq.asyncio.Socket, name: str, n: int) -> None:
    for _ in range(n):
        if not await sub.poll(timeout=2000):
            raise SystemExit(f"{name}: nothing received for 2 s")
        topic, body = await sub.recv_multipart()
        print(f"{name} got {topic.decode()}: {body.decode()}")


async def main() -> None:
    ctx = zmq.asyncio.Context()
    pub = ctx.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    subs = []
    for topic in (b"weather", b"news"):
        sub = ctx.socket(zmq.SUB)
        sub.subscribe(topic)
        sub.connect(f"tcp://127.0.0.1:{port}")
        subs.append(sub)
    stop = asyncio.Event()
    pub_task = asyncio.create_task(publisher(pub, stop))
    await asyncio.gather(subscriber(subs[0], "A", 3), subscriber(subs[1], "B", 3))
    stop.set()
    await pub_task
    ctx.destroy(linger=0)
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
