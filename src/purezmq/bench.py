"""Side-by-side benchmark: purezmq against pyzmq, in one run.

``python -m purezmq bench [--quick] [--repeat N] [--only NAME...]``

Theory of operation
-------------------
A *case* is one row of the table (see ``CASES``): a measurement *kind*
(``thr`` = PUSH/PULL throughput, ``lat`` = REQ/REP round trip, and their
asyncio twins ``athr`` / ``alat``), a transport and a message size. Each kind
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

Adding a case is one entry in ``CASES`` (and, for a new kind, one entry in
``KINDS`` plus its role functions).
"""

from __future__ import annotations

import argparse
import asyncio
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
    measured_by: str  # "server" or "client": whose RESULT carries the timing
    unit: str  # "msg/s" or "us"
    higher_is_better: bool
    aio: bool = False  # needs <impl>.asyncio


KINDS: dict[str, Kind] = {
    "thr": Kind("thr_server", "thr_client", "thr_inproc", "server", "msg/s", True),
    "lat": Kind("lat_server", "lat_client", None, "client", "us", False),
    "athr": Kind("athr_server", "athr_client", None, "server", "msg/s", True, aio=True),
    "alat": Kind("alat_server", "alat_client", None, "client", "us", False, aio=True),
}


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    name: str  # CLI name for --only
    title: str  # shown in the table
    kind: str  # key of KINDS
    transport: str  # tcp, ipc or inproc
    size: int  # message size in bytes
    count: int  # messages (or round trips) of the calibration run
    quick_count: int  # messages (or round trips) with --quick
    curve: bool = False  # CURVE-secured connection (needs PyNaCl / libzmq with CURVE)


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

    def measure(self, case: Case, impl: str, count: int) -> tuple[float, float, int]:
        """One measurement: (value in the kind's unit, elapsed seconds, count)."""
        kind = KINDS[case.kind]
        params: dict[str, Any] = {
            "impl": impl,
            "size": case.size,
            "count": count,
            "timeout": self.timeout,
            "bind": self._bind_endpoint(case.transport),
            "curve": case.curve,
        }
        deadline = time.monotonic() + self.timeout
        children: list[_Child] = []
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
                client = _Child({**params, **ready, "role": kind.client}, self.workdir)
                children.append(client)
                results = {c.role: c.expect("RESULT", deadline) for c in (server, client)}
                result = results[kind.server if kind.measured_by == "server" else kind.client]
        except BaseException:
            for child in children:
                child.kill()
            raise
        for child in children:
            child.finish(grace=5)
        n, elapsed = int(result["n"]), float(result["elapsed"])
        if n <= 0 or elapsed <= 0:
            raise _Failed(f"bad measurement n={n} elapsed={elapsed}")
        value = n / elapsed if kind.unit == "msg/s" else elapsed / n * 1e6
        return value, elapsed, count


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


def _next_count(case: Case, count: int, elapsed: float, duration: float) -> int:
    """Scale ``count`` so the next run lasts about ``duration`` seconds (at most x20)."""
    scaled = int(count * min(20.0, duration / max(elapsed, 1e-6)))
    low, high = (100, 20_000_000) if KINDS[case.kind].unit == "msg/s" else (50, 1_000_000)
    return max(low, min(high, scaled))


def _calibrate(runner: _Runner, case: Case, impl: str, count: int, duration: float) -> int:
    """Message count for a run of about ``duration`` s; retries while runs are too short."""
    for _ in range(4):
        _, elapsed, n = runner.measure(case, impl, count)
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
    repeat: int = 5,
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
        for case in cases:
            kind = KINDS[case.kind]
            cells = [Cell(impl, label) for impl, label in zip(impls, labels, strict=True)]
            for cell, probe in zip(cells, probes, strict=True):
                if not probe.get("ok"):
                    cell.status, cell.error = "fail", str(probe.get("version"))
                elif kind.aio and not probe.get("asyncio"):
                    cell.status, cell.error = "n/a", f"{cell.impl}.asyncio does not import"
            counts = [case.quick_count if quick else case.count for _ in impls]
            rounds = [False] * repeat if quick else [True] + [False] * repeat
            for calibrating in rounds:  # interleave: A, B, A, B, ...
                for i, cell in enumerate(cells):
                    if cell.status != "ok":
                        continue
                    try:
                        if calibrating:
                            counts[i] = _calibrate(runner, case, cell.impl, counts[i], duration)
                            continue
                        value, elapsed, n = runner.measure(case, cell.impl, counts[i])
                    except _Failed as exc:
                        cell.status = "n/a" if exc.unavailable else "fail"
                        cell.error = str(exc)
                        continue
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
    return f"{row['ratio']:.2f}x  ({sign}1 = {cand} faster)"


_WIDTHS = (28, 16, 16)


def format_row(row: dict[str, Any], verbose: bool = False) -> str:
    """One table line (plus samples and errors when ``verbose``)."""
    a, b = row["results"]
    w0, w1, w2 = _WIDTHS
    line = (
        f"{row['title']:<{w0}} {_fmt_cell(a, row['unit']):>{w1}} "
        f"{_fmt_cell(b, row['unit']):>{w2}}   {_fmt_ratio(row)}"
    )
    extra = []
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
        "--repeat", type=int, default=None, metavar="N", help="runs per cell (default 5; 1 quick)"
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
            print(f"{case.name:<20} {case.title}")
        return 0
    try:
        cases = select_cases(args.only)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    impls = [s.strip() for s in args.impls.split(",") if s.strip()]
    if len(impls) != 2 or any(i not in LABELS for i in impls):
        print(f"bench: --impls takes two of {sorted(LABELS)}", file=sys.stderr)
        return 2
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    if repeat < 1:
        print("bench: --repeat must be >= 1", file=sys.stderr)
        return 2
    labels = _labels(impls)
    order = ", ".join([*labels, labels[0], "..."])
    mode = "quick" if args.quick else f"~{args.duration:g} s per measurement"
    print(f"purezmq bench: best of {repeat}, interleaved ({order}), {mode}")
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


def _hold() -> None:
    """Block until the driver closes our stdin (it has every result)."""
    sys.stdin.read()


async def _ahold() -> None:
    """``_hold`` without blocking the event loop (its engines must keep running)."""
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def _ms(p: dict[str, Any]) -> int:
    return int(float(p["timeout"]) * 1000)


def _check(msg: Any, size: int) -> None:
    if len(msg) != size:
        raise RuntimeError(f"received {len(msg)} bytes, expected {size}")


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
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.RCVTIMEO, _ms(p))
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
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVTIMEO, _ms(p))
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
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.RCVTIMEO, _ms(p))
    sock.setsockopt(zmq.SNDTIMEO, _ms(p))
    sock.bind(p["bind"])
    _emit("READY", {"endpoint": sock.getsockopt(zmq.LAST_ENDPOINT).decode()})
    for _ in range(_WARMUP + p["count"]):
        sock.send(sock.recv())
    _emit("RESULT", {})
    _hold()
    sock.close(linger=0)
    ctx.term()


def role_lat_client(zmq: Any, p: dict[str, Any]) -> None:
    """REQ: connect, warm up, then time ``count`` round trips."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.RCVTIMEO, _ms(p))
    sock.setsockopt(zmq.SNDTIMEO, _ms(p))
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
        sock = ctx.socket(zmq.PULL)
        sock.setsockopt(zmq.RCVTIMEO, _ms(p))
        sock.bind(p["bind"])
        _emit("READY", {"endpoint": sock.getsockopt(zmq.LAST_ENDPOINT).decode()})
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
        sock = ctx.socket(zmq.REP)
        sock.setsockopt(zmq.RCVTIMEO, _ms(p))
        sock.setsockopt(zmq.SNDTIMEO, _ms(p))
        sock.bind(p["bind"])
        _emit("READY", {"endpoint": sock.getsockopt(zmq.LAST_ENDPOINT).decode()})
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
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.RCVTIMEO, _ms(p))
        sock.setsockopt(zmq.SNDTIMEO, _ms(p))
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
}


def _child_main(argv: list[str]) -> int:
    """Entry point of a child process: run one role, report on stdout."""
    p: dict[str, Any] = json.loads(argv[0])
    # Watchdog: a child never outlives its timeout, even if the driver died.
    watchdog = threading.Timer(float(p["timeout"]) + 10, os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()
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
