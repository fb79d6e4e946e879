"""Microbenchmark of the ZMTP frame codec: ``python -m purezmq.zmtp._bench_codec``.

Measures, in one process with the garbage collector on (as in real use):

- decode: a byte stream of N single-frame messages fed to a
  ``FrameDecoder`` (and to a ready ``ZmtpConnection``) in 64 KiB reads
  whose boundaries fall mid-frame, as a socket's would;
- encode: batches of messages turned into one ``bytes`` by
  ``encode_messages`` / ``encode_messages_iov`` and by a ready
  connection's ``send_messages`` + ``data_to_send``.

Each figure is the best of several runs, in messages per CPU-second
(``time.process_time``, so other load on the machine does not skew it). This is
a codec microbenchmark, not an end-to-end throughput figure.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from .connection import ZmtpConnection
from .frames import FrameDecoder, encode_messages, encode_messages_iov


def _best(run: Callable[[], int], repeat: int) -> float:
    """Best messages/second over ``repeat`` runs of ``run`` (returns a count)."""
    best = 0.0
    for _ in range(repeat):
        t0 = time.process_time()
        count = run()
        best = max(best, count / (time.process_time() - t0))
    return best


def _ready_pair() -> tuple[ZmtpConnection, ZmtpConnection]:
    """Two connections that have completed the NULL handshake."""
    a = ZmtpConnection(socket_type="PUSH")
    b = ZmtpConnection(socket_type="PULL", as_server=True)
    for _ in range(4):
        b.receive_data(a.data_to_send())
        a.receive_data(b.data_to_send())
    assert a.handshake_complete and b.handshake_complete
    return a, b


def bench(size: int, count: int, batch: int, repeat: int, read_size: int) -> dict[str, float]:
    """Run every measurement for messages of ``size`` octets."""
    msg = [b"x" * size]
    stream = encode_messages([msg] * count)
    reads = [stream[i : i + read_size] for i in range(0, len(stream), read_size)]
    batches = [[msg] * batch for _ in range(max(1, count // batch))]
    sent = batch * len(batches)
    results: dict[str, float] = {}

    def decode() -> int:
        dec = FrameDecoder()
        feed = dec.feed
        n = 0
        for r in reads:
            n += len(feed(r))
        return n

    def conn_decode() -> int:
        _, b = _ready_pair()
        recv = b.receive_data
        n = 0
        for r in reads:
            n += len(recv(r))
        return n

    def encode() -> int:
        for bt in batches:
            encode_messages(bt)
        return sent

    def encode_iov() -> int:
        for bt in batches:
            encode_messages_iov(bt)
        return sent

    def conn_encode() -> int:
        a, _ = _ready_pair()
        for bt in batches:
            a.send_messages(bt)
            a.data_to_send()
        return sent

    assert decode() == count
    results["decode FrameDecoder.feed"] = _best(decode, repeat)
    results["decode ZmtpConnection.receive_data"] = _best(conn_decode, repeat)
    results["encode encode_messages"] = _best(encode, repeat)
    results["encode encode_messages_iov"] = _best(encode_iov, repeat)
    results["encode send_messages+data_to_send"] = _best(conn_encode, repeat)
    return results


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,1024", help="message sizes, comma separated")
    parser.add_argument("--count", type=int, default=200_000, help="messages per run")
    parser.add_argument("--batch", type=int, default=1000, help="messages per encode batch")
    parser.add_argument("--read-size", type=int, default=65536, help="octets per decoder feed")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is reported")
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",")):
        results = bench(size, args.count, args.batch, args.repeat, args.read_size)
        print(f"{size}-byte single-frame messages ({args.count} per run, best of {args.repeat}):")
        for name, rate in results.items():
            print(f"  {name:40s} {rate / 1e6:6.2f} M msg/s")


if __name__ == "__main__":
    main()
