"""Fan-out with purezmq.green: one PUSH feeds four greenlet workers, a PUB stops them.

The ventilator PUSHes tasks over tcp; each worker greenlet has its own PULL
socket (tasks are load-balanced between them) and a SUB socket for the
"stop" broadcast; results come back to a PULL sink. Every blocking call
yields to the gevent hub, so the workers' simulated I/O (``gevent.sleep``)
overlaps: 40 tasks of 20 ms take about 0.2 s, not 0.8 s.

Run: python examples/gevent_fanout.py
"""

import time

import gevent

import purezmq.green as zmq

N_WORKERS = 4
N_TASKS = 40


def worker(ctx: zmq.Context, name: str, tasks_at: str, control_at: str, sink_at: str) -> int:
    tasks = ctx.socket(zmq.PULL)
    tasks.connect(tasks_at)
    control = ctx.socket(zmq.SUB)
    control.subscribe(b"stop")
    control.connect(control_at)
    results = ctx.socket(zmq.PUSH)
    results.connect(sink_at)
    poller = zmq.Poller()
    poller.register(tasks, zmq.POLLIN)
    poller.register(control, zmq.POLLIN)
    done = 0
    while True:
        events = dict(poller.poll(5000))
        if not events:
            raise SystemExit(f"{name}: nothing for 5 s")
        if control in events:
            break
        n = int(tasks.recv())
        gevent.sleep(0.02)  # "I/O": other greenlets run meanwhile
        results.send_multipart([name.encode(), b"%d" % (n * n)])
        done += 1
    for s in (tasks, control, results):
        s.close(linger=0)
    return done


def main() -> None:
    ctx = zmq.Context()
    vent = ctx.socket(zmq.PUSH)
    tasks_at = f"tcp://127.0.0.1:{vent.bind_to_random_port('tcp://127.0.0.1')}"
    control = ctx.socket(zmq.PUB)
    control_at = f"tcp://127.0.0.1:{control.bind_to_random_port('tcp://127.0.0.1')}"
    sink = ctx.socket(zmq.PULL)
    sink_at = f"tcp://127.0.0.1:{sink.bind_to_random_port('tcp://127.0.0.1')}"

    workers = [
        gevent.spawn(worker, ctx, f"w{i}", tasks_at, control_at, sink_at) for i in range(N_WORKERS)
    ]
    gevent.sleep(0.1)  # let every worker connect, so PUSH spreads the tasks over all four
    start = time.monotonic()
    for n in range(N_TASKS):
        vent.send(b"%d" % n)
    total = 0
    per_worker: dict[str, int] = {}
    for _ in range(N_TASKS):
        if not sink.poll(5000):  # (RCVTIMEO works too, but pyzmq's green ignores it)
            raise RuntimeError("no result within 5 s")
        name, value = sink.recv_multipart()
        total += int(value)
        per_worker[name.decode()] = per_worker.get(name.decode(), 0) + 1
    elapsed = time.monotonic() - start
    assert total == sum(n * n for n in range(N_TASKS)), total

    # Subscriptions are asynchronous: publish "stop" until every worker has left.
    while not all(w.ready() for w in workers):
        control.send(b"stop")
        gevent.joinall(workers, timeout=0.05)
    assert sum(w.get() for w in workers) == N_TASKS
    print(f"{N_TASKS} tasks in {elapsed:.2f} s by {dict(sorted(per_worker.items()))}")
    ctx.destroy(linger=0)
    print("done")


if __name__ == "__main__":
    main()
