"""Side-by-side benchmark: purezmq against pyzmq, in one run.

``python -m purezmq bench [--quick] [--repeat N] [--only NAME...]``

Theory of operation
-------------------
A *case* is one row of the table (see ``CASES``): a measurement *kind*
(``thr`` = PUSH/PULL throughput, ``lat`` = REQ/REP round trip, and their
asyncio twins ``athr`` / ``alat``; ``adr`` asyncio DEALER/ROUTER; the many-peer
kinds below), a transport and a message size. Each kind
names the *roles* (functions at the bottom of this file) that run in the
child processes.

For tcp and ipc the two ends run in two separate child processes, like
libzmq's ``local_thr`` / ``remote_thr``: the server binds (``tcp://127.0.0.1:0``
or an ipc path in a temp dir), prints its ``LAST_ENDPOINT``, and the driver
starts the client with it. inproc needs one process, so one child runs both
ends on two threads. A child imports only the implementation under test (this
file is run with ``runpy``, so the ``purezmq`` package is not imported into a
pyzmq child), and talks to the driver with ``@@TAG {json}`` lines on stdout.
After its result a child waits for EOF on stdin before closing its sockets,
so nothing is torn down while the peer still needs it.

The machines this runs on are noisy, so the two implementations are
interleaved (A, B, A, B, ...) and each cell reports the best of N. Before the
timed runs, one short calibration run per implementation picks the message
count that makes a measurement last about ``--duration`` seconds. Every child
has a hard timeout (and a watchdog of its own); a cell that times out or
errors shows ``fail``, an optional module that does not import shows ``n/a``.

Many peers and fan-out (``fan``, ``pubn``, ``rtr``, ``lb``, ``fq``, ``mem``). The
measured socket runs in the server child; the other side is many sockets:
10 SUB processes for fan-out, and for the others *one* process holding all
the peers (SUBs, DEALERs, PULLs, PUSHes). The peers run pyzmq whatever is measured
(purezmq if pyzmq does not import), so both implementations face the same
peers and the row measures the one socket: with purezmq subscribers, fan-out
would measure ten SUBs' receive path on two cores rather than the PUB. Each child raises RLIMIT_NOFILE to its
hard limit. Where one side must wait for the other (every SUB subscribed,
every PUSH connected), the driver relays: a child prints ``@@SYNCED`` and the
driver writes ``GO`` to the other's stdin; a measured server that reports
CPU waits for ``DONE`` (every client has its result) so that the work its
I/O thread still does after the last send is counted. Setting up thousands
of connections is slow, so these cases are not calibrated: one run sets up
once and reports several timed *segments* (each a sample), and runs 2-3
times per implementation. ``--peers N`` reruns them with N peers. Under the
row the table shows the CPU per message of the measured process (all its
threads), which a shared machine disturbs much less than wall-clock time.

Adding a case is one entry in ``CASES`` (and, for a new kind, one entry in
``KINDS`` plus its role functions).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fnmatch
import importlib
import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

# ---------------------------------------------------------------------------
# Case table
# ---------------------------------------------------------------------------

LABELS = {"zmq": "pyzmq", "purezmq": "purezmq"}


@dataclass(frozen=True)
class Kind:
    """A measurement: which roles run, what unit it reports, and its counts."""

    server: str  # role of the binding child (tcp/ipc)
    client: str  # role of the connecting child (tcp/ipc)
    inproc: str | None  # role running both ends on two threads (inproc)
    # Whose RESULT carries the timing: "server", "client", or "span" (from the
    # server's ``t0`` to the latest client's ``t1``: fan-out's first send to
    # last delivery; perf_counter is system-wide on Linux).
    measured_by: str
    unit: str  # "msg/s", "us" or "KiB"
    higher_is_better: bool
    aio: bool = False  # needs <impl>.asyncio
    # The client children run the *reference peers* (pyzmq when it imports,
    # else purezmq), whatever is measured: many-peer cases measure one socket.
    ref_peers: bool = False
    # Start-up handshake through the driver: "server" = the server waits for
    # GO on stdin until every client printed SYNCED; "client" = the reverse.
    sync: str | None = None
    # The server (the measured socket) reports only when the driver says DONE
    # (every client has its result), so its CPU per message covers the work
    # its I/O thread still did after the application's last send.
    server_done: bool = False
    # One client process per peer (fan-out's SUB processes); else one holds them all.
    peer_procs: bool = False


# Fan-out: a PUB's first send to its subscribers' last delivery, one SUB process each.
_FAN = Kind(
    "fan_pub",
    "fan_sub",
    None,
    "span",
    "msg/s",
    True,
    ref_peers=True,
    sync="server",
    server_done=True,
    peer_procs=True,
)

KINDS: dict[str, Kind] = {
    "thr": Kind("thr_server", "thr_client", "thr_inproc", "server", "msg/s", True),
    "lat": Kind("lat_server", "lat_client", None, "client", "us", False),
    "athr": Kind("athr_server", "athr_client", None, "server", "msg/s", True, aio=True),
    "alat": Kind("alat_server", "alat_client", None, "client", "us", False, aio=True),
    # Fan-out, and many peers (their side the reference implementation).
    "fan": _FAN,
    # The same PUB over many SUBs in one process: its cost per subscriber.
    "pubn": dataclasses.replace(_FAN, client="pubn_subs", peer_procs=False),
    "rtr": Kind(
        "rtr_server", "rtr_peers", None, "client", "msg/s", True, ref_peers=True, server_done=True
    ),
    "lb": Kind(
        "lb_push", "lb_peers", None, "client", "msg/s", True, ref_peers=True, server_done=True
    ),
    "fq": Kind("fq_pull", "fq_peers", None, "server", "msg/s", True, ref_peers=True, sync="client"),
    "adr": Kind("adr_router", "adr_dealer", None, "client", "msg/s", True, aio=True),
    "mem": Kind("mem_router", "mem_peers", None, "server", "KiB", False, ref_peers=True),
}


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    name: str  # CLI name for --only
    title: str  # shown in the table
    kind: str  # key of KINDS
    transport: str  # tcp, ipc or inproc
    size: int  # message size in bytes
    count: int  # messages (or round trips, or rounds) of the calibration run
    quick_count: int  # the same with --quick
    curve: bool = False  # CURVE-secured connection (needs PyNaCl / libzmq with CURVE)
    peers: int = 0  # connected peers (many-peer kinds), or client processes (fan-out)
    quick_peers: int = 0  # the same with --quick
    # Cases with a costly set-up (thousands of connections) are not
    # calibrated: ``count`` is fixed, each run reports ``segments`` timed
    # samples after one set-up, and ``repeat`` (if set) is the default number
    # of runs per implementation.
    calibrate: bool = True
    segments: int = 1
    repeat: int | None = None
    timeout: float | None = None  # the hard timeout of one run, if above --timeout's


def _size_name(size: int) -> str:
    """64 -> '64 B', 1024 -> '1 KiB'."""
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def _thr(transport: str, size: int, aio: bool = False) -> Case:
    tag = {64: "64", 1024: "1k", 65536: "64k"}[size]
    prefix, kind, api = ("async-", "athr", "asyncio ") if aio else ("", "thr", "")
    count = 1000 if size >= 65536 else 10000
    return Case(
        f"{prefix}thr-{transport}-{tag}",
        f"{api}PUSH/PULL {transport} {_size_name(size)}",
        kind,
        transport,
        size,
        count,
        max(count // 10, 100),
    )


def _lat(transport: str, aio: bool = False) -> Case:
    prefix, kind, api = ("async-", "alat", "asyncio ") if aio else ("", "lat", "")
    return Case(
        f"{prefix}lat-{transport}",
        f"{api}REQ/REP {transport} 64 B",
        kind,
        transport,
        64,
        300,
        200,
    )


CASES: list[Case] = [
    *(_thr(t, s) for t in ("tcp", "ipc", "inproc") for s in (64, 1024, 65536)),
    _lat("tcp"),
    _lat("ipc"),
    _thr("tcp", 64, aio=True),
    _thr("tcp", 1024, aio=True),
    _lat("tcp", aio=True),
    _lat("ipc", aio=True),
    Case("curve-thr-tcp-1k", "PUSH/PULL tcp 1 KiB CURVE", "thr", "tcp", 1024, 10000, 1000, True),
    # Many peers. The peers' side is one pyzmq process (purezmq without pyzmq).
    Case(
        "fanout-tcp-64",
        "PUB -> 10 SUB processes 64 B",
        "fan",
        "tcp",
        64,
        100_000,
        2000,
        peers=10,
        quick_peers=3,
        calibrate=False,
        repeat=2,
    ),
    Case(
        "pub-100",
        "PUB -> 100 SUBs 64 B",
        "pubn",
        "tcp",
        64,
        5000,  # messages, each delivered to every SUB
        200,
        peers=100,
        quick_peers=10,
        calibrate=False,
        repeat=2,
    ),
    *(
        Case(
            f"router-{n}",
            f"ROUTER <- {n} DEALERs 64 B",
            "rtr",
            "tcp",
            64,
            15_000,  # requests per segment (rounds of one request per peer)
            40,
            peers=n,
            quick_peers=20,
            calibrate=False,
            segments=3,
            repeat=2,
            timeout=max(30.0, n / 50),
        )
        for n in (100, 1000, 5000)
    ),
    Case(
        "push-lb-1000",
        "PUSH -> 1000 PULLs 64 B",
        "lb",
        "tcp",
        64,
        100_000,
        400,
        peers=1000,
        quick_peers=20,
        calibrate=False,
        segments=3,
        repeat=2,
    ),
    Case(
        "pull-fq-1000",
        "PULL <- 1000 PUSHes 64 B",
        "fq",
        "tcp",
        64,
        100_000,
        400,
        peers=1000,
        quick_peers=20,
        calibrate=False,
        segments=3,
        repeat=2,
    ),
    Case(
        "async-dealer-router-tcp-64",
        "asyncio DEALER/ROUTER tcp 64 B",
        "adr",
        "tcp",
        64,
        10000,
        1000,
    ),
    Case(
        "mem-peers-1000",
        "memory per peer, 1000 DEALERs",
        "mem",
        "tcp",
        64,
        1,
        1,
        peers=1000,
        quick_peers=50,
        calibrate=False,
        repeat=2,
    ),
]

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class Cell:
    """Everything measured for one implementation in one case."""

    impl: str
    label: str
    status: str = "ok"  # ok, fail or n/a
    samples: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)  # CPU per message, one per run
    error: str | None = None

    def best(self, higher_is_better: bool) -> float | None:
        """Best sample (max throughput or min latency), None if none."""
        if not self.samples:
            return None
        return max(self.samples) if higher_is_better else min(self.samples)


class _Failed(Exception):
    """A measurement did not produce a number; ``unavailable`` means n/a."""

    def __init__(self, message: str, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


# ---------------------------------------------------------------------------
# Driver side: spawning children
# ---------------------------------------------------------------------------

_CHILD_CODE = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__purezmq_bench_child__')"
_CHILD_RUN_NAME = "__purezmq_bench_child__"


class _Child:
    """One child process running one role; its @@ lines arrive on a queue."""

    def __init__(self, params: dict[str, Any], workdir: str) -> None:
        self.role = str(params["role"])
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._stderr: IO[bytes] = tempfile.TemporaryFile(dir=workdir)
        src_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src_root, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE, os.path.abspath(__file__), json.dumps(params)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=workdir,  # nothing in the cwd can shadow a module
            env=env,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # its only reader closes it, at the child's EOF
            for line in self.proc.stdout:
                if line.startswith("@@"):
                    tag, _, payload = line[2:].partition(" ")
                    try:
                        self.events.put((tag, json.loads(payload)))
                    except ValueError:
                        continue
        self.events.put(("EXIT", {}))

    def expect(self, tag: str, deadline: float) -> dict[str, Any]:
        """Wait for ``@@tag``; raise _Failed on error, early exit or deadline."""
        while True:
            try:
                got, data = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise _Failed(f"timeout: {self.role} gave no {tag}") from None
            if got == tag:
                return data
            if got == "ERROR":
                raise _Failed(f"{self.role}: {data.get('error')}", bool(data.get("unavailable")))
            if got == "EXIT":
                try:
                    rc = self.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    rc = None
                raise _Failed(f"{self.role} exited (code {rc}): {self.stderr_tail()}")

    def tell(self, line: str) -> None:
        """Write one command line (``GO``) to the child's stdin."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise _Failed(f"{self.role}: cannot write to its stdin ({exc})") from None

    def stderr_tail(self) -> str:
        """Last non-empty line the child wrote to stderr."""
        self._stderr.seek(0)
        lines = [ln.strip() for ln in self._stderr.read().decode(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln]
        return lines[-1] if lines else "no output"

    def finish(self, grace: float) -> None:
        """Tell the child to close (EOF on stdin); kill it if it lingers."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def kill(self) -> None:
        """Kill the child now (it failed or timed out)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish(grace=5)


class _Runner:
    """Runs single measurements in child processes."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        # The measured process's CPU per message in the last run (many-peer kinds), µs.
        self.cpu_us: float | None = None
        self.workdir = tempfile.mkdtemp(prefix="pzbench-")
        self._serial = 0

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _bind_endpoint(self, transport: str) -> str:
        self._serial += 1
        if transport == "tcp":
            return "tcp://127.0.0.1:0"
        if transport == "ipc":
            return f"ipc://{self.workdir}/{self._serial}.sock"
        return f"inproc://bench-{self._serial}"

    def probe(self, impl: str) -> dict[str, Any]:
        """Import ``impl`` in a child; return its version and asyncio support."""
        child = _Child({"role": "probe", "impl": impl, "timeout": self.timeout}, self.workdir)
        try:
            return child.expect("RESULT", time.monotonic() + self.timeout)
        except _Failed as exc:
            child.kill()
            return {"version": f"{LABELS.get(impl, impl)}: import failed ({exc})", "ok": False}
        finally:
            child.finish(grace=5)

    def measure(
        self, case: Case, impl: str, count: int, peers_impl: str | None = None
    ) -> list[tuple[float, float, int]]:
        """One run: [(value in the kind's unit, elapsed seconds, count)], one per segment.

        ``peers_impl`` runs the clients of a ``ref_peers`` kind (default: ``impl``).
        """
        kind = KINDS[case.kind]
        params: dict[str, Any] = {
            "impl": impl,
            "size": case.size,
            "count": count,
            "timeout": self.timeout,
            "bind": self._bind_endpoint(case.transport),
            "curve": case.curve,
            "peers": case.peers,
            "segments": case.segments,
        }
        if case.timeout:
            params["timeout"] = max(self.timeout, case.timeout)
        deadline = time.monotonic() + max(self.timeout, case.timeout or 0.0)
        children: list[_Child] = []
        self.cpu_us = None
        try:
            if case.transport == "inproc":
                if kind.inproc is None:
                    raise _Failed(f"{case.kind} has no inproc variant")
                children.append(_Child({**params, "role": kind.inproc}, self.workdir))
                result = children[0].expect("RESULT", deadline)
            else:
                server = _Child({**params, "role": kind.server}, self.workdir)
                children.append(server)
                ready = server.expect("READY", deadline)
                client_params = {**params, **ready, "role": kind.client}
                if kind.ref_peers:
                    client_params["impl"] = peers_impl or impl
                nclients = case.peers if kind.peer_procs else 1
                clients = [_Child(client_params, self.workdir) for _ in range(nclients)]
                children += clients
                if kind.sync == "server":
                    for c in clients:
                        c.expect("SYNCED", deadline)
                    server.tell("GO")
                elif kind.sync == "client":
                    server.expect("SYNCED", deadline)
                    for c in clients:
                        c.tell("GO")
                if kind.server_done:
                    client_results = [c.expect("RESULT", deadline) for c in clients]
                    server.tell("DONE")
                    server_result = server.expect("RESULT", deadline)
                else:
                    server_result = server.expect("RESULT", deadline)
                    client_results = [c.expect("RESULT", deadline) for c in clients]
                self.cpu_us = server_result.get("cpu_us")
                if kind.measured_by == "span":
                    t1 = max(float(r["t1"]) for r in client_results)
                    result = {"n": server_result["n"], "elapsed": t1 - float(server_result["t0"])}
                elif kind.measured_by == "server":
                    result = server_result
                else:
                    result = client_results[0]
        except BaseException:
            for child in children:
                child.kill()
            raise
        for child in children:
            child.finish(grace=5)
        if "value" in result:  # a direct reading (memory): no timing
            return [(float(result["value"]), float(result.get("elapsed", 0.0)), count)]
        segments = result.get("samples") or [[result["n"], result["elapsed"]]]
        out = []
        for n_, elapsed_ in segments:
            n, elapsed = int(n_), float(elapsed_)
            if n <= 0 or elapsed <= 0:
                raise _Failed(f"bad measurement n={n} elapsed={elapsed}")
            value = n / elapsed if kind.unit == "msg/s" else elapsed / n * 1e6
            out.append((value, elapsed, count))
        return out


# ---------------------------------------------------------------------------
# Driver side: the benchmark loop
# ---------------------------------------------------------------------------


def select_cases(patterns: Sequence[str] | None) -> list[Case]:
    """Cases whose name matches one of the glob ``patterns`` (all if none)."""
    if not patterns:
        return list(CASES)
    unknown = [p for p in patterns if not any(fnmatch.fnmatch(c.name, p) for c in CASES)]
    if unknown:
        names = ", ".join(c.name for c in CASES)
        raise ValueError(f"unknown case(s) {', '.join(unknown)}; known: {names}")
    return [c for c in CASES if any(fnmatch.fnmatch(c.name, p) for p in patterns)]


def _with_peers(case: Case, peers: int) -> Case:
    """``case`` with ``peers`` peers (many-peer kinds; others unchanged), renamed to match.

    Fan-out is left alone: its subscribers are one process each.
    """
    kind = KINDS[case.kind]
    if kind.ref_peers and not kind.peer_procs and case.peers:
        name = case.name.replace(str(case.peers), str(peers))
        title = case.title.replace(str(case.peers), str(peers))
        return dataclasses.replace(case, name=name, title=title, peers=peers, quick_peers=0)
    return case


def _next_count(case: Case, count: int, elapsed: float, duration: float) -> int:
    """Scale ``count`` so the next run lasts about ``duration`` seconds (at most x20)."""
    scaled = int(count * min(20.0, duration / max(elapsed, 1e-6)))
    low, high = (100, 20_000_000) if KINDS[case.kind].unit == "msg/s" else (50, 1_000_000)
    return max(low, min(high, scaled))


def _calibrate(runner: _Runner, case: Case, impl: str, count: int, duration: float) -> int:
    """Message count for a run of about ``duration`` s; retries while runs are too short."""
    for _ in range(4):
        _, elapsed, n = runner.measure(case, impl, count)[0]
        count = _next_count(case, n, elapsed, duration)
        if elapsed >= duration / 4:
            break
    return count


def _labels(impls: Sequence[str]) -> list[str]:
    """Column labels; a repeated implementation gets '#2', '#3'..."""
    labels: list[str] = []
    for impl in impls:
        label = LABELS.get(impl, impl)
        n = sum(1 for lb in labels if lb == label or lb.startswith(label + "#"))
        labels.append(f"{label}#{n + 1}" if n else label)
    return labels


def run_cases(
    cases: Sequence[Case] | None = None,
    *,
    impls: Sequence[str] = ("zmq", "purezmq"),
    repeat: int | None = None,
    quick: bool = False,
    duration: float = 0.5,
    timeout: float | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    on_probe: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``cases`` for each of ``impls`` interleaved; return one dict per case.

    Each dict has ``name``, ``title``, ``unit`` ("msg/s" or "us"),
    ``higher_is_better``, ``ratio`` (last impl / first impl, None unless both
    measured) and ``results``: one dict per impl with ``impl``, ``label``,
    ``status`` ("ok", "fail", "n/a"), ``best``, ``samples``, ``counts``,
    ``seconds`` (timed part of each sample), ``error``. ``on_result`` is called with each dict as soon as it is done.

    ``repeat``: runs per implementation (default: 1 with ``quick``, else the
    case's own ``repeat`` or 5). With ``quick`` many-peer cases use their
    ``quick_peers``. The clients of ``ref_peers`` kinds run pyzmq when it
    imports, else purezmq.
    """
    if len(impls) != 2:
        raise ValueError("exactly two implementations are compared")
    for impl in impls:
        if impl not in LABELS:
            raise ValueError(f"unknown implementation {impl!r}; use one of {sorted(LABELS)}")
    cases = list(CASES if cases is None else cases)
    runner = _Runner(timeout if timeout is not None else (20.0 if quick else 30.0))
    out: list[dict[str, Any]] = []
    try:
        probes = [runner.probe(impl) for impl in impls]
        if on_probe is not None:
            on_probe(probes)
        labels = _labels(impls)
        peers_impl: str | None = None
        for case in cases:
            kind = KINDS[case.kind]
            if quick and case.quick_peers:
                title = case.title.replace(str(case.peers), str(case.quick_peers))
                case = dataclasses.replace(case, title=title, peers=case.quick_peers)
            if kind.ref_peers and peers_impl is None:
                zmq_ok = probes[impls.index("zmq")] if "zmq" in impls else runner.probe("zmq")
                peers_impl = "zmq" if zmq_ok.get("ok") else "purezmq"
            cells = [Cell(impl, label) for impl, label in zip(impls, labels, strict=True)]
            for cell, probe in zip(cells, probes, strict=True):
                if not probe.get("ok"):
                    cell.status, cell.error = "fail", str(probe.get("version"))
                elif kind.aio and not probe.get("asyncio"):
                    cell.status, cell.error = "n/a", f"{cell.impl}.asyncio does not import"
            counts = [case.quick_count if quick else case.count for _ in impls]
            runs = repeat if repeat is not None else (1 if quick else case.repeat or 5)
            calibrate = case.calibrate and not quick
            rounds = [True] + [False] * runs if calibrate else [False] * runs
            for calibrating in rounds:  # interleave: A, B, A, B, ...
                for i, cell in enumerate(cells):
                    if cell.status != "ok":
                        continue
                    try:
                        if calibrating:
                            counts[i] = _calibrate(runner, case, cell.impl, counts[i], duration)
                            continue
                        samples = runner.measure(case, cell.impl, counts[i], peers_impl)
                    except _Failed as exc:
                        cell.status = "n/a" if exc.unavailable else "fail"
                        cell.error = str(exc)
                        continue
                    if runner.cpu_us is not None:
                        cell.cpu_us.append(float(runner.cpu_us))
                    for value, elapsed, n in samples:
                        cell.samples.append(value)
                        cell.counts.append(n)
                        cell.seconds.append(elapsed)
            for cell in cells:  # a failure after good runs still keeps them
                if cell.status == "fail" and cell.samples:
                    cell.status = "ok"
            bests = [c.best(kind.higher_is_better) for c in cells]
            ratio = bests[1] / bests[0] if bests[0] and bests[1] is not None else None
            row = {
                "name": case.name,
                "title": case.title,
                "peers": case.peers,
                "peers_impl": peers_impl if kind.ref_peers else None,
                "unit": kind.unit,
                "higher_is_better": kind.higher_is_better,
                "ratio": ratio,
                "results": [
                    {
                        "impl": c.impl,
                        "label": c.label,
                        "status": c.status if c.samples or c.status != "ok" else "fail",
                        "best": b,
                        "samples": c.samples,
                        "counts": c.counts,
                        "seconds": c.seconds,
                        "cpu_us": min(c.cpu_us) if c.cpu_us else None,
                        "error": c.error,
                    }
                    for c, b in zip(cells, bests, strict=True)
                ],
            }
            out.append(row)
            if on_result is not None:
                on_result(row)
    finally:
        runner.close()
    return out


# ---------------------------------------------------------------------------
# Driver side: presentation and CLI
# ---------------------------------------------------------------------------


def _micro() -> str:
    """'µs' if stdout can encode it, else 'us'."""
    try:
        "µ".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "us"
    return "µs"


def _fmt_value(value: float, unit: str) -> str:
    if unit == "us":
        return f"{value:,.1f} {_micro()}"
    if unit == "KiB":
        return f"{value:,.1f} KiB"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M msg/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k msg/s"
    return f"{value:.0f} msg/s"


def _fmt_cell(result: dict[str, Any], unit: str) -> str:
    if result["status"] != "ok" or result["best"] is None:
        return str(result["status"])
    return _fmt_value(float(result["best"]), unit)


def _fmt_ratio(row: dict[str, Any]) -> str:
    if row["ratio"] is None:
        return "-"
    cand = row["results"][1]["label"]
    sign = ">" if row["higher_is_better"] else "<"
    better = "smaller" if row["unit"] == "KiB" else "faster"
    return f"{row['ratio']:.2f}x  ({sign}1 = {cand} {better})"


_WIDTHS = (31, 16, 16)


def format_row(row: dict[str, Any], verbose: bool = False) -> str:
    """One table line (plus samples and errors when ``verbose``)."""
    a, b = row["results"]
    w0, w1, w2 = _WIDTHS
    line = (
        f"{row['title']:<{w0}} {_fmt_cell(a, row['unit']):>{w1}} "
        f"{_fmt_cell(b, row['unit']):>{w2}}   {_fmt_ratio(row)}"
    )
    extra = []
    cpus = [r.get("cpu_us") for r in row["results"]]
    if all(c is not None for c in cpus):
        each = ", ".join(
            f"{r['label']} {c:.1f} {_micro()}" for r, c in zip(row["results"], cpus, strict=True)
        )
        extra.append(f"    CPU per message of the measured process (best run): {each}")
    for r in row["results"]:
        if verbose and r["samples"]:
            vals = ", ".join(
                f"{_fmt_value(v, row['unit'])} ({n} in {t:.2f} s)"
                for v, n, t in zip(r["samples"], r["counts"], r["seconds"], strict=True)
            )
            extra.append(f"    {r['label']}: {vals}")
        if r["error"] and (verbose or r["status"] != "n/a"):
            status = "a run failed" if r["status"] == "ok" else r["status"]
            extra.append(f"    {r['label']}: {status}: {r['error']}")
    return "\n".join([line, *extra])


def format_header(labels: Sequence[str]) -> str:
    """The table's column header."""
    w0, w1, w2 = _WIDTHS
    ratio = f"ratio {labels[1]}/{labels[0]}"
    return f"{'case':<{w0}} {labels[0]:>{w1}} {labels[1]:>{w2}}   {ratio}"


def machine_info() -> str:
    """Python version and machine, in one line."""
    py = f"{platform.python_version()} ({platform.python_implementation()})"
    return f"Python {py} | {platform.platform()} | {platform.machine()} | {os.cpu_count()} CPUs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bench options to ``parser`` (shared with ``python -m purezmq``)."""
    parser.epilog = (
        "Each cell is the best of N runs, the implementations interleaved. "
        "ratio = purezmq/pyzmq: for throughput (msg/s) higher is better, "
        "for REQ/REP round-trip latency lower is better. "
        "Example: python -m purezmq bench --only 'thr-tcp-*' lat-tcp --repeat 7"
    )
    parser.add_argument("--quick", action="store_true", help="tiny runs, no calibration")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="runs per cell (default 5, 2-3 for many-peer cases; 1 quick)",
    )
    parser.add_argument(
        "--peers",
        type=int,
        default=None,
        metavar="N",
        help="number of peers for the many-peer cases (pub-*, router-*, push-lb-*, pull-fq-*, mem-*)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="cases to run (glob patterns; see --list)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--duration", type=float, default=0.5, help="target seconds per measurement (0.5)"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="hard timeout per measurement (30 s; 20 quick)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show every sample")
    # Hidden: compare other pairs, e.g. --impls zmq,zmq to check the harness.
    parser.add_argument("--impls", default="zmq,purezmq", help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    """The stand-alone parser for ``run_bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m purezmq bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add_arguments(parser)
    return parser


def run_bench(argv: list[str] | None = None) -> int:
    """CLI entry point: run the benchmark and print the table. Returns 0, or 2 on bad usage."""
    args = build_parser().parse_args(argv)
    return run_bench_args(args)


def run_bench_args(args: argparse.Namespace) -> int:
    """Run with already parsed arguments."""
    if args.list:
        for case in CASES:
            print(f"{case.name:<28} {case.title}")
        return 0
    try:
        cases = select_cases(args.only)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    if args.peers is not None:
        if args.peers < 1:
            print("bench: --peers must be >= 1", file=sys.stderr)
            return 2
        cases = [_with_peers(c, args.peers) for c in cases]
    impls = [s.strip() for s in args.impls.split(",") if s.strip()]
    if len(impls) != 2 or any(i not in LABELS for i in impls):
        print(f"bench: --impls takes two of {sorted(LABELS)}", file=sys.stderr)
        return 2
    repeat = args.repeat
    if repeat is not None and repeat < 1:
        print("bench: --repeat must be >= 1", file=sys.stderr)
        return 2
    labels = _labels(impls)
    order = ", ".join([*labels, labels[0], "..."])
    mode = "quick" if args.quick else f"~{args.duration:g} s per measurement"
    runs = str(repeat) if repeat is not None else ("1" if args.quick else "5 (2-3 many-peer)")
    print(f"purezmq bench: best of {runs} runs, interleaved ({order}), {mode}")
    print(machine_info())

    def on_probe(probes: list[dict[str, Any]]) -> None:
        for label, probe in zip(labels, probes, strict=True):
            aio = "yes" if probe.get("asyncio") else "no"
            print(f"  {label}: {probe.get('version')}; asyncio: {aio}")
        print()
        print(format_header(labels))
        sys.stdout.flush()

    def on_result(row: dict[str, Any]) -> None:
        print(format_row(row, args.verbose), flush=True)

    rows = run_cases(
        cases,
        impls=impls,
        repeat=repeat,
        quick=args.quick,
        duration=args.duration,
        timeout=args.timeout,
        on_result=on_result,
        on_probe=on_probe,
    )
    print()
    print(
        f"ratio = {labels[1]}/{labels[0]} of the best runs: throughput higher is better, "
        "latency (round trip) lower is better."
    )
    failed = [r["name"] for r in rows if any(x["status"] == "fail" for x in r["results"])]
    if failed:
        print(f"failed: {', '.join(failed)}")
    partial = [
        r["name"] for r in rows if any(x["status"] == "ok" and x["error"] for x in r["results"])
    ]
    if partial:
        print(f"some runs failed (best of the good runs shown): {', '.join(partial)}")
    return 0


# ---------------------------------------------------------------------------
# Child side: roles. Only the stdlib and the implementation under test.
# ---------------------------------------------------------------------------


def _emit(tag: str, data: dict[str, Any]) -> None:
    sys.stdout.write(f"@@{tag} {json.dumps(data)}\n")
    sys.stdout.flush()


class _Stdin:
    """The driver's lines on a child's stdin: ``GO`` (sync), then EOF (hold).

    A thread reads them once a role asks for GO; until then ``_hold`` reads
    stdin itself.
    """

    go = threading.Event()
    done = threading.Event()
    eof = threading.Event()
    started = False

    @classmethod
    def start(cls) -> None:
        if cls.started:
            return
        cls.started = True

        def read() -> None:
            for line in sys.stdin:
                if line.strip() == "GO":
                    cls.go.set()
                elif line.strip() == "DONE":
                    cls.done.set()
            cls.eof.set()

        threading.Thread(target=read, daemon=True).start()


def _wait_go(p: dict[str, Any]) -> None:
    """Block until the driver says GO (the other side is ready)."""
    _Stdin.start()
    if not _Stdin.go.wait(float(p["timeout"])):
        raise RuntimeError("no GO from the driver")


def _wait_done(p: dict[str, Any]) -> None:
    """Block until the driver says DONE (every client has its result)."""
    _Stdin.start()
    if not _Stdin.done.wait(float(p["timeout"])):
        raise RuntimeError("no DONE from the driver")


def _cpu() -> float:
    """CPU seconds this process used so far (every thread: libzmq's, our I/O thread)."""
    return time.process_time()


def _hold() -> None:
    """Block until the driver closes our stdin (it has every result)."""
    if _Stdin.started:
        _Stdin.eof.wait()
    else:
        sys.stdin.read()


async def _ahold() -> None:
    """``_hold`` without blocking the event loop (its engines must keep running)."""
    await asyncio.get_running_loop().run_in_executor(None, _hold)


def _ms(p: dict[str, Any]) -> int:
    return int(float(p["timeout"]) * 1000)


def _check(msg: Any, size: int) -> None:
    if len(msg) != size:
        raise RuntimeError(f"received {len(msg)} bytes, expected {size}")


def _socket(ctx: Any, zmq: Any, kind: int, p: dict[str, Any], send: bool = False) -> Any:
    """A socket with the run's receive (and, with ``send``, send) timeout."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.RCVTIMEO, _ms(p))
    if send:
        sock.setsockopt(zmq.SNDTIMEO, _ms(p))
    return sock


def _ready(zmq: Any, sock: Any) -> None:
    """Tell the driver the measured socket is bound, and where."""
    _emit("READY", {"endpoint": sock.getsockopt(zmq.LAST_ENDPOINT).decode()})


def role_probe(zmq: Any, p: dict[str, Any]) -> None:
    """Report the implementation's version and whether its asyncio imports."""
    if p["impl"] == "zmq":
        version = f"pyzmq {zmq.pyzmq_version()} (libzmq {zmq.zmq_version()})"
    else:
        version = f"{p['impl']} {getattr(zmq, '__purezmq_version__', '?')}"
    try:
        importlib.import_module(p["impl"] + ".asyncio")
        aio = True
    except Exception:
        aio = False
    _emit("RESULT", {"version": version, "asyncio": aio, "ok": True})


def role_thr_server(zmq: Any, p: dict[str, Any]) -> None:
    """PULL: bind, receive ``count`` messages, time all but the first."""
    ctx = zmq.Context()
    sock = _socket(ctx, zmq, zmq.PULL, p)
    ready: dict[str, Any] = {}
    if p.get("curve"):
        public, secret = zmq.curve_keypair()
        sock.setsockopt(zmq.CURVE_SERVER, 1)
        sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
        ready["serverkey"] = public.decode()
    sock.bind(p["bind"])
    _emit("READY", {"endpoint": sock.getsockopt(zmq.LAST_ENDPOINT).decode(), **ready})
    size, count = p["size"], p["count"]
    _check(sock.recv(), size)
    t0 = time.perf_counter()
    for _ in range(count - 2):
        sock.recv()
    _check(sock.recv(), size)
    elapsed = time.perf_counter() - t0
    _emit("RESULT", {"n": count - 1, "elapsed": elapsed})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_thr_client(zmq: Any, p: dict[str, Any]) -> None:
    """PUSH: connect and send ``count`` messages."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDTIMEO, _ms(p))
    if "serverkey" in p:
        public, secret = zmq.curve_keypair()
        sock.setsockopt(zmq.CURVE_SERVERKEY, p["serverkey"].encode())
        sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
    sock.connect(p["endpoint"])
    msg = b"x" * p["size"]
    for _ in range(p["count"]):
        sock.send(msg)
    _emit("RESULT", {})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_thr_inproc(zmq: Any, p: dict[str, Any]) -> None:
    """PULL in this thread, PUSH in another, over inproc in one Context."""
    ctx = zmq.Context()
    pull = _socket(ctx, zmq, zmq.PULL, p)
    pull.bind(p["bind"])
    size, count = p["size"], p["count"]
    errors: list[BaseException] = []

    def sender() -> None:
        push = ctx.socket(zmq.PUSH)
        try:
            push.setsockopt(zmq.SNDTIMEO, _ms(p))
            push.connect(p["bind"])
            msg = b"x" * size
            for _ in range(count):
                push.send(msg)
        except BaseException as exc:
            errors.append(exc)
        finally:
            push.close(linger=0 if errors else None)

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    try:
        _check(pull.recv(), size)
        t0 = time.perf_counter()
        for _ in range(count - 2):
            pull.recv()
        _check(pull.recv(), size)
        elapsed = time.perf_counter() - t0
    except BaseException:
        if errors:
            raise errors[0] from None
        raise
    thread.join(float(p["timeout"]))
    _emit("RESULT", {"n": count - 1, "elapsed": elapsed})
    _hold()
    pull.close(linger=0)
    ctx.term()


_WARMUP = 20


def role_lat_server(zmq: Any, p: dict[str, Any]) -> None:
    """REP: bind and echo warm-up plus ``count`` requests."""
    ctx = zmq.Context()
    sock = _socket(ctx, zmq, zmq.REP, p, send=True)
    sock.bind(p["bind"])
    _ready(zmq, sock)
    for _ in range(_WARMUP + p["count"]):
        sock.send(sock.recv())
    _emit("RESULT", {})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_lat_client(zmq: Any, p: dict[str, Any]) -> None:
    """REQ: connect, warm up, then time ``count`` round trips."""
    ctx = zmq.Context()
    sock = _socket(ctx, zmq, zmq.REQ, p, send=True)
    sock.connect(p["endpoint"])
    msg, count = b"x" * p["size"], p["count"]
    for _ in range(_WARMUP):
        sock.send(msg)
        sock.recv()
    t0 = time.perf_counter()
    for _ in range(count):
        sock.send(msg)
        _check(sock.recv(), p["size"])
    elapsed = time.perf_counter() - t0
    _emit("RESULT", {"n": count, "elapsed": elapsed})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_athr_server(zmq: Any, p: dict[str, Any]) -> None:
    """asyncio PULL: like ``role_thr_server`` with awaits."""
    aio = importlib.import_module(p["impl"] + ".asyncio")

    async def main() -> None:
        ctx = aio.Context()
        sock = _socket(ctx, zmq, zmq.PULL, p)
        sock.bind(p["bind"])
        _ready(zmq, sock)
        size, count = p["size"], p["count"]
        _check(await sock.recv(), size)
        t0 = time.perf_counter()
        for _ in range(count - 2):
            await sock.recv()
        _check(await sock.recv(), size)
        elapsed = time.perf_counter() - t0
        _emit("RESULT", {"n": count - 1, "elapsed": elapsed})
        await _ahold()
        sock.close(linger=0)
        ctx.term()

    asyncio.run(asyncio.wait_for(main(), float(p["timeout"])))


def role_athr_client(zmq: Any, p: dict[str, Any]) -> None:
    """asyncio PUSH: like ``role_thr_client`` with awaits."""
    aio = importlib.import_module(p["impl"] + ".asyncio")

    async def main() -> None:
        ctx = aio.Context()
        sock = ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.SNDTIMEO, _ms(p))
        sock.connect(p["endpoint"])
        msg = b"x" * p["size"]
        for _ in range(p["count"]):
            await sock.send(msg)
        _emit("RESULT", {})
        await _ahold()
        sock.close(linger=0)
        ctx.term()

    asyncio.run(asyncio.wait_for(main(), float(p["timeout"])))


def role_alat_server(zmq: Any, p: dict[str, Any]) -> None:
    """asyncio REP: like ``role_lat_server`` with awaits."""
    aio = importlib.import_module(p["impl"] + ".asyncio")

    async def main() -> None:
        ctx = aio.Context()
        sock = _socket(ctx, zmq, zmq.REP, p, send=True)
        sock.bind(p["bind"])
        _ready(zmq, sock)
        for _ in range(_WARMUP + p["count"]):
            await sock.send(await sock.recv())
        _emit("RESULT", {})
        await _ahold()
        sock.close(linger=0)
        ctx.term()

    asyncio.run(asyncio.wait_for(main(), float(p["timeout"])))


def role_alat_client(zmq: Any, p: dict[str, Any]) -> None:
    """asyncio REQ: like ``role_lat_client`` with awaits."""
    aio = importlib.import_module(p["impl"] + ".asyncio")

    async def main() -> None:
        ctx = aio.Context()
        sock = _socket(ctx, zmq, zmq.REQ, p, send=True)
        sock.connect(p["endpoint"])
        msg, count = b"x" * p["size"], p["count"]
        for _ in range(_WARMUP):
            await sock.send(msg)
            await sock.recv()
        t0 = time.perf_counter()
        for _ in range(count):
            await sock.send(msg)
            _check(await sock.recv(), p["size"])
        elapsed = time.perf_counter() - t0
        _emit("RESULT", {"n": count, "elapsed": elapsed})
        await _ahold()
        sock.close(linger=0)
        ctx.term()

    asyncio.run(asyncio.wait_for(main(), float(p["timeout"])))


# -- many peers --------------------------------------------------------------------------


def _raise_fd_limit() -> None:
    """RLIMIT_NOFILE up to the hard limit: thousands of connections need fds."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ImportError, ValueError, OSError):
        pass


def _peers_context(zmq: Any, n: int) -> Any:
    """A Context that may hold ``n`` sockets (libzmq's default MAX_SOCKETS is 1023)."""
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, n + 64)
    return ctx


def _bind_many(zmq: Any, sock: Any, p: dict[str, Any]) -> None:
    """Bind with a listen backlog for ``peers`` connections arriving at once."""
    sock.setsockopt(zmq.BACKLOG, max(100, min(int(p["peers"]), 4096)))
    sock.bind(p["bind"])


def _await_handshakes(zmq: Any, sock: Any, mon: Any, n: int, p: dict[str, Any]) -> None:
    """Wait until ``n`` peers have completed their handshake (monitor events), then
    let the socket take in their pipes."""
    mon.setsockopt(zmq.RCVTIMEO, _ms(p))
    for _ in range(n):
        mon.recv_multipart()
    sock.disable_monitor()
    mon.close(linger=0)
    time.sleep(0.05)
    sock.getsockopt(zmq.EVENTS)  # runs the socket's pending commands (pipe attaches)


def _rounds(p: dict[str, Any]) -> int:
    """Rounds (one request per peer) in one timed segment of ``count`` requests."""
    return max(1, int(p["count"]) // int(p["peers"]))


def role_rtr_server(zmq: Any, p: dict[str, Any]) -> None:
    """ROUTER (measured): echo every request back to the DEALER that sent it."""
    ctx = zmq.Context()
    sock = _socket(ctx, zmq, zmq.ROUTER, p, send=True)
    _bind_many(zmq, sock, p)
    _ready(zmq, sock)
    n = int(p["peers"])
    recv, send = sock.recv_multipart, sock.send_multipart
    for _ in range(n):  # the warm-up round
        send(recv())
    timed = n * _rounds(p) * int(p["segments"])
    cpu0 = _cpu()
    for _ in range(timed):
        send(recv())
    _wait_done(p)
    _emit("RESULT", {"cpu_us": (_cpu() - cpu0) / timed * 1e6})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_rtr_peers(zmq: Any, p: dict[str, Any]) -> None:
    """``peers`` DEALERs (reference): rounds of one request each, all replies awaited."""
    n, size = int(p["peers"]), int(p["size"])
    ctx = _peers_context(zmq, n)
    dealers = []
    for _ in range(n):
        d = _socket(ctx, zmq, zmq.DEALER, p)
        d.setsockopt(zmq.LINGER, 0)
        d.connect(p["endpoint"])
        dealers.append(d)
    msg = b"x" * size

    def one_round() -> None:
        for d in dealers:
            d.send(msg)
        for d in dealers:
            d.recv()

    one_round()  # warm-up: every peer connected and answered once
    rounds, samples = _rounds(p), []
    for _ in range(int(p["segments"])):
        t0 = time.perf_counter()
        for _ in range(rounds):
            one_round()
        samples.append([n * rounds, time.perf_counter() - t0])
    _emit("RESULT", {"samples": samples})
    _hold()
    for d in dealers:
        d.close()
    ctx.term()


def _marks(p: dict[str, Any]) -> tuple[int, list[int]]:
    """Messages of a segmented stream and the indices where segments start/end."""
    count, segments = int(p["count"]), int(p["segments"])
    return count * segments + 1, [i * count for i in range(segments + 1)]


def _samples(p: dict[str, Any], times: list[float]) -> list[list[float]]:
    count = int(p["count"])
    return [[count, b - a] for a, b in zip(times, times[1:], strict=False)]


def role_lb_push(zmq: Any, p: dict[str, Any]) -> None:
    """PUSH (measured): once every PULL is connected, load-balance the stream over them."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDTIMEO, _ms(p))
    mon = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    _bind_many(zmq, sock, p)
    _ready(zmq, sock)
    _await_handshakes(zmq, sock, mon, int(p["peers"]), p)
    msg = b"x" * int(p["size"])
    send = sock.send
    total = _marks(p)[0]
    cpu0 = _cpu()
    for _ in range(total):
        send(msg)
    _wait_done(p)
    _emit("RESULT", {"cpu_us": (_cpu() - cpu0) / total * 1e6})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_lb_peers(zmq: Any, p: dict[str, Any]) -> None:
    """``peers`` PULLs (reference): receive the stream, whichever PULL it comes to."""
    n = int(p["peers"])
    ctx = _peers_context(zmq, n)
    poller = zmq.Poller()
    pulls = []
    for _ in range(n):
        s = ctx.socket(zmq.PULL)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(p["endpoint"])
        poller.register(s, zmq.POLLIN)
        pulls.append(s)
    total, marks = _marks(p)
    times: list[float] = []
    got, nxt, mi = 0, 0, 0
    again, nonblock = zmq.Again, zmq.NOBLOCK
    while got < total:
        ready = poller.poll(_ms(p))
        if not ready:
            raise RuntimeError(f"timeout after {got} of {total} messages")
        for s, _ev in ready:
            while True:
                try:
                    s.recv(nonblock)
                except again:
                    break
                if got == nxt:
                    times.append(time.perf_counter())
                    mi += 1
                    nxt = marks[mi] if mi < len(marks) else -1
                got += 1
    _emit("RESULT", {"samples": _samples(p, times)})
    _hold()
    for s in pulls:
        s.close()
    ctx.term()


def role_fq_pull(zmq: Any, p: dict[str, Any]) -> None:
    """PULL (measured): once every PUSH is connected, fair-queue their streams."""
    ctx = zmq.Context()
    sock = _socket(ctx, zmq, zmq.PULL, p)
    mon = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    _bind_many(zmq, sock, p)
    _ready(zmq, sock)
    _await_handshakes(zmq, sock, mon, int(p["peers"]), p)
    _emit("SYNCED", {})
    size, count = int(p["size"]), int(p["count"])
    recv = sock.recv
    _check(recv(), size)
    times, cpu0 = [time.perf_counter()], _cpu()
    for _ in range(int(p["segments"])):
        for _ in range(count - 1):
            recv()
        _check(recv(), size)
        times.append(time.perf_counter())
    cpu_us = (_cpu() - cpu0) / (count * int(p["segments"])) * 1e6
    _emit("RESULT", {"samples": _samples(p, times), "cpu_us": cpu_us})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_fq_peers(zmq: Any, p: dict[str, Any]) -> None:
    """``peers`` PUSHes (reference): on GO, send the stream round robin over them."""
    n = int(p["peers"])
    ctx = _peers_context(zmq, n)
    pushes = []
    for _ in range(n):
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.SNDTIMEO, _ms(p))
        s.setsockopt(zmq.LINGER, 0)
        s.connect(p["endpoint"])
        pushes.append(s)
    _wait_go(p)
    msg = b"x" * int(p["size"])
    for i in range(_marks(p)[0]):
        pushes[i % n].send(msg)
    _emit("RESULT", {})
    _hold()
    for s in pushes:
        s.close()
    ctx.term()


def role_fan_pub(zmq: Any, p: dict[str, Any]) -> None:
    """PUB: warm-up messages until every SUB has one (GO), then ``count`` timed ones."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, 0)  # every message to every subscriber: nothing dropped
    sock.bind(p["bind"])
    _ready(zmq, sock)
    _Stdin.start()
    deadline = time.monotonic() + float(p["timeout"])
    while not _Stdin.go.wait(0.005):
        sock.send(b"w")
        if time.monotonic() > deadline:
            raise RuntimeError("the subscribers never synced")
    msg, count = b"x" * int(p["size"]), int(p["count"])
    send = sock.send
    t0, cpu0 = time.perf_counter(), _cpu()
    for _ in range(count):
        send(msg)
    _wait_done(p)
    _emit("RESULT", {"t0": t0, "n": count, "cpu_us": (_cpu() - cpu0) / count * 1e6})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_fan_sub(zmq: Any, p: dict[str, Any]) -> None:
    """SUB: say SYNCED at the first warm-up message, then take ``count`` timed ones."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.RCVTIMEO, _ms(p))
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(p["endpoint"])
    size, count = int(p["size"]), int(p["count"])
    recv = sock.recv
    msg = recv()
    _emit("SYNCED", {})
    while len(msg) != size:  # the warm-ups still in flight
        msg = recv()
    for _ in range(count - 1):
        recv()
    t1 = time.perf_counter()
    _emit("RESULT", {"t1": t1})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_pubn_subs(zmq: Any, p: dict[str, Any]) -> None:
    """``peers`` SUBs (reference) in one process: SYNCED once each has a warm-up
    message, then ``count`` timed ones each."""
    n, size, count = int(p["peers"]), int(p["size"]), int(p["count"])
    ctx = _peers_context(zmq, n)
    poller = zmq.Poller()
    subs = []
    for _ in range(n):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.RCVHWM, 0)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(p["endpoint"])
        poller.register(s, zmq.POLLIN)
        subs.append(s)
    got = dict.fromkeys(subs, -1)  # -1: no warm-up yet
    waiting, synced = n, False
    again, nonblock = zmq.Again, zmq.NOBLOCK
    while waiting:
        ready = poller.poll(_ms(p))
        if not ready:
            raise RuntimeError(f"timeout with {waiting} of {n} SUBs short")
        for s, _ev in ready:
            while True:
                try:
                    msg = s.recv(nonblock)
                except again:
                    break
                k = got[s]
                if len(msg) != size:  # a warm-up
                    if k < 0:
                        got[s] = 0
                        waiting -= 1
                    continue
                got[s] = k = k + 1
                if k == count:
                    waiting -= 1
        if not synced and not waiting:
            _emit("SYNCED", {})
            synced, waiting = True, n
    _emit("RESULT", {"t1": time.perf_counter()})
    _hold()
    for s in subs:
        s.close()
    ctx.term()


def role_adr_router(zmq: Any, p: dict[str, Any]) -> None:
    """asyncio ROUTER: echo (ROUTER_MANDATORY: a full peer makes the send wait, not drop)."""
    aio = importlib.import_module(p["impl"] + ".asyncio")

    async def main() -> None:
        ctx = aio.Context()
        sock = _socket(ctx, zmq, zmq.ROUTER, p, send=True)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.bind(p["bind"])
        _ready(zmq, sock)
        for _ in range(1 + int(p["count"])):
            await sock.send_multipart(await sock.recv_multipart())
        _emit("RESULT", {})
        await _ahold()
        sock.close(linger=0)
        ctx.term()

    asyncio.run(asyncio.wait_for(main(), float(p["timeout"])))


def role_adr_dealer(zmq: Any, p: dict[str, Any]) -> None:
    """asyncio DEALER: one task streams ``count`` requests, another takes the replies."""
    aio = importlib.import_module(p["impl"] + ".asyncio")

    async def main() -> None:
        ctx = aio.Context()
        sock = _socket(ctx, zmq, zmq.DEALER, p, send=True)
        sock.connect(p["endpoint"])
        size, count = int(p["size"]), int(p["count"])
        msg = b"x" * size
        await sock.send(msg)
        _check(await sock.recv(), size)

        async def sender() -> None:
            for _ in range(count):
                await sock.send(msg)

        t0 = time.perf_counter()
        task = asyncio.ensure_future(sender())
        for _ in range(count - 1):
            await sock.recv()
        _check(await sock.recv(), size)
        elapsed = time.perf_counter() - t0
        await task
        _emit("RESULT", {"n": count, "elapsed": elapsed})
        await _ahold()
        sock.close(linger=0)
        ctx.term()

    asyncio.run(asyncio.wait_for(main(), float(p["timeout"])))


def _rss() -> int:
    """Resident set size of this process in octets."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak will do
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def role_mem_router(zmq: Any, p: dict[str, Any]) -> None:
    """ROUTER (measured): RSS growth per peer once ``peers`` DEALERs each did one round trip."""
    import gc

    ctx = zmq.Context()
    sock = _socket(ctx, zmq, zmq.ROUTER, p, send=True)
    _bind_many(zmq, sock, p)  # the I/O thread runs from here on
    n = int(p["peers"])
    gc.collect()
    time.sleep(0.1)
    rss0 = _rss()
    _ready(zmq, sock)
    t0 = time.perf_counter()
    for _ in range(n):
        sock.send_multipart(sock.recv_multipart())
    elapsed = time.perf_counter() - t0
    gc.collect()
    time.sleep(0.2)  # replies written, the I/O thread idle
    _emit("RESULT", {"value": (_rss() - rss0) / n / 1024, "elapsed": elapsed})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_mem_peers(zmq: Any, p: dict[str, Any]) -> None:
    """``peers`` DEALERs (reference): one request and its reply each, then stay connected."""
    n, size = int(p["peers"]), int(p["size"])
    ctx = _peers_context(zmq, n)
    dealers = []
    for _ in range(n):
        d = _socket(ctx, zmq, zmq.DEALER, p)
        d.setsockopt(zmq.LINGER, 0)
        d.connect(p["endpoint"])
        dealers.append(d)
    msg = b"x" * size
    for d in dealers:
        d.send(msg)
    for d in dealers:
        _check(d.recv(), size)
    _emit("RESULT", {})
    _hold()
    for d in dealers:
        d.close()
    ctx.term()


ROLES: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "probe": role_probe,
    "thr_server": role_thr_server,
    "thr_client": role_thr_client,
    "thr_inproc": role_thr_inproc,
    "lat_server": role_lat_server,
    "lat_client": role_lat_client,
    "athr_server": role_athr_server,
    "athr_client": role_athr_client,
    "alat_server": role_alat_server,
    "alat_client": role_alat_client,
    "fan_pub": role_fan_pub,
    "fan_sub": role_fan_sub,
    "rtr_server": role_rtr_server,
    "rtr_peers": role_rtr_peers,
    "lb_push": role_lb_push,
    "lb_peers": role_lb_peers,
    "fq_pull": role_fq_pull,
    "fq_peers": role_fq_peers,
    "adr_router": role_adr_router,
    "pubn_subs": role_pubn_subs,
    "adr_dealer": role_adr_dealer,
    "mem_router": role_mem_router,
    "mem_peers": role_mem_peers,
}


def _child_main(argv: list[str]) -> int:
    """Entry point of a child process: run one role, report on stdout."""
    p: dict[str, Any] = json.loads(argv[0])
    # Watchdog: a child never outlives its timeout, even if the driver died.
    watchdog = threading.Timer(float(p["timeout"]) + 10, os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()
    _raise_fd_limit()
    try:
        zmq = importlib.import_module(p["impl"])
    except Exception as exc:
        _emit("ERROR", {"error": f"import {p['impl']} failed: {type(exc).__name__}: {exc}"})
        return 2
    role = p["role"]
    aio_roles = {r for k in KINDS.values() if k.aio for r in (k.server, k.client, k.inproc)}
    if role in aio_roles:  # a missing asyncio module is "n/a", not "fail"
        try:
            importlib.import_module(p["impl"] + ".asyncio")
        except ImportError as exc:
            _emit("ERROR", {"error": f"{p['impl']}.asyncio: {exc}", "unavailable": True})
            return 2
    try:
        ROLES[role](zmq, p)
    except BaseException as exc:
        traceback.print_exc()  # the whole story on stderr; the driver keeps the last line
        where = ""
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            path = "/".join(last.filename.replace(os.sep, "/").split("/")[-2:])
            where = f" (at {path}:{last.lineno} in {last.name})"
        _emit("ERROR", {"error": f"{type(exc).__name__}: {exc}{where}"})
        return 1
    return 0


if __name__ == _CHILD_RUN_NAME:
    sys.exit(_child_main(sys.argv[2:]))
