"""The ``python -m purezmq demo`` and ``bench`` tools.

The tests that run purezmq need a working library; the ``pyzmq`` variants run
the same harness with pyzmq in every role, so they check the tools themselves.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from purezmq import bench
from purezmq.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TCP_CASE = "thr-tcp-64"
DEMO_MARKERS = [
    "[reqrep] OK",
    "[pubsub] OK",
    "[pipeline] OK",
    "msg/s",
    "demo: all sections worked",
]


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "purezmq", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _check_demo(proc: subprocess.CompletedProcess[str]) -> None:
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for marker in DEMO_MARKERS:
        assert marker in out, f"{marker!r} missing from:\n{out}"
    # The pipeline spread the tasks over both workers.
    assert re.search(r"worker-1 did\s+\d+ tasks", out), out
    assert re.search(r"worker-2 did\s+\d+ tasks", out), out
    # Each subscriber reported only its own topics.
    weather = next(ln for ln in out.splitlines() if "subscriber 'weather.'" in ln)
    sports = next(ln for ln in out.splitlines() if "subscriber 'sports.'" in ln)
    assert "weather.paris" in weather and "sports." not in weather.split("got", 1)[1]
    assert "sports.tennis" in sports and "weather." not in sports.split("got", 1)[1]


def _check_table(out: str, labels: tuple[str, str]) -> None:
    header = next(ln for ln in out.splitlines() if ln.startswith("case "))
    assert labels[0] in header and labels[1] in header and "ratio" in header, out
    row = next(ln for ln in out.splitlines() if ln.startswith("PUSH/PULL tcp 64 B"))
    cells = re.findall(r"[\d.]+[kM]? msg/s", row)
    assert len(cells) == 2, row
    assert re.search(r"\d+\.\d+x", row), row
    assert "Python" in out


@pytest.mark.timeout(120)
def test_demo_purezmq() -> None:
    _check_demo(_run("demo", timeout=60))


@pytest.mark.timeout(120)
def test_demo_harness_with_pyzmq() -> None:
    _check_demo(_run("demo", "--impl", "zmq", timeout=60))


@pytest.mark.timeout(120)
def test_bench_quick_purezmq() -> None:
    proc = _run("bench", "--quick", "--only", TCP_CASE, timeout=100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_table(proc.stdout, ("pyzmq", "purezmq"))


@pytest.mark.timeout(120)
def test_bench_harness_with_pyzmq() -> None:
    proc = _run("bench", "--quick", "--only", TCP_CASE, "--impls", "zmq,zmq", timeout=100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_table(proc.stdout, ("pyzmq", "pyzmq#2"))


@pytest.mark.timeout(120)
def test_bench_data_all_kinds_with_pyzmq() -> None:
    """Every kind of case runs and yields numbers (pyzmq in both columns)."""
    names = ["thr-ipc-1k", "thr-inproc-64", "lat-tcp", "async-thr-tcp-64", "async-lat-tcp"]
    cases = bench.select_cases(names)
    rows = bench.run_cases(cases, impls=("zmq", "zmq"), repeat=1, quick=True)
    assert [r["name"] for r in rows] == names
    for row in rows:
        assert [r["status"] for r in row["results"]] == ["ok", "ok"], row
        assert all(r["best"] > 0 for r in row["results"])
        # The ratio is the second column over the first. Its value says nothing here:
        # a quick cell lasts milliseconds, so one preemption under load moves it 50x.
        first, second = (r["best"] for r in row["results"])
        assert row["ratio"] == pytest.approx(second / first), row
        assert row["unit"] == ("msg/s" if "thr" in row["name"] else "us")
        assert row["higher_is_better"] == (row["unit"] == "msg/s")


MANY_PEER_CASES = [
    "fanout-tcp-64",
    "pub-100",
    "router-100",
    "router-5000",
    "push-lb-1000",
    "pull-fq-1000",
    "async-dealer-router-tcp-64",
    "mem-peers-1000",
]


@pytest.mark.timeout(240)
def test_bench_many_peer_cases_quick() -> None:
    """The many-peer and fan-out cases run in their tiny mode, purezmq measured.

    The peers' side is pyzmq; ``quick`` shrinks every case to a few peers, so
    this checks the roles and the driver's GO/DONE handshakes, not speed.
    """
    pytest.importorskip("zmq")
    cases = bench.select_cases(MANY_PEER_CASES)
    rows = bench.run_cases(cases, impls=("zmq", "purezmq"), repeat=1, quick=True, timeout=60)
    assert [r["name"] for r in rows] == MANY_PEER_CASES
    for row in rows:
        assert [r["status"] for r in row["results"]] == ["ok", "ok"], row
        assert all(r["best"] > 0 for r in row["results"]), row
        kind = bench.KINDS[next(c.kind for c in cases if c.name == row["name"])]
        if kind.ref_peers:
            assert row["peers_impl"] == "zmq" and 0 < row["peers"] < 100, row
        if row["name"] in (
            "router-100",
            "push-lb-1000",
            "pull-fq-1000",
            "fanout-tcp-64",
            "pub-100",
        ):
            assert all(r["cpu_us"] and r["cpu_us"] > 0 for r in row["results"]), row
            assert "CPU per message" in bench.format_row(row)
        if row["unit"] == "KiB":
            assert not row["higher_is_better"]
    # The router rows name the number of peers they really had.
    assert rows[1]["title"].startswith("PUB -> 10 SUBs"), rows[1]["title"]
    assert rows[2]["title"].startswith("ROUTER <- 20 DEALERs"), rows[2]["title"]


@pytest.mark.timeout(180)
def test_memory_per_peer_at_most_10_kib() -> None:
    """Issue 13: a purezmq ROUTER grows by at most 10 KiB of RSS per connected peer
    (1000 pyzmq DEALERs that each did one round trip; libzmq takes ~30 KiB)."""
    pytest.importorskip("zmq")
    case = bench.select_cases(["mem-peers-1000"])[0]
    runner = bench._Runner(timeout=120)
    try:
        kib = min(runner.measure(case, "purezmq", 1, "zmq")[0][0] for _ in range(2))
    finally:
        runner.close()
    assert 0 < kib <= 10, f"{kib:.1f} KiB per peer"


def test_with_peers_renames_many_peer_cases() -> None:
    case = bench._with_peers(bench.select_cases(["router-1000"])[0], 250)
    assert (case.name, case.peers, case.title) == ("router-250", 250, "ROUTER <- 250 DEALERs 64 B")
    case = bench._with_peers(bench.select_cases(["pub-100"])[0], 1000)
    assert (case.name, case.peers, case.title) == ("pub-1000", 1000, "PUB -> 1000 SUBs 64 B")
    for name in ("thr-tcp-64", "fanout-tcp-64"):
        other = bench.select_cases([name])[0]
        assert bench._with_peers(other, 250) is other


def test_select_cases() -> None:
    assert [c.name for c in bench.select_cases(["thr-tcp-*"])] == [
        "thr-tcp-64",
        "thr-tcp-1k",
        "thr-tcp-64k",
    ]
    assert len(bench.select_cases(None)) == len(bench.CASES)
    with pytest.raises(ValueError, match="unknown case"):
        bench.select_cases(["no-such-case"])


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "bench" in out
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert "--quick" in capsys.readouterr().out
    assert main([]) == 2


def test_bench_list_and_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--list"]) == 0
    listed = capsys.readouterr().out
    assert TCP_CASE in listed
    for name in MANY_PEER_CASES:
        assert name in listed
    assert main(["bench", "--peers", "0"]) == 2
    assert main(["bench", "--only", "nope"]) == 2
    assert main(["bench", "--impls", "zmq,libfoo"]) == 2


@pytest.mark.timeout(60)
def test_bench_hard_timeout_gives_fail() -> None:
    """A measurement that cannot finish in time is killed and reported, not waited for."""
    runner = bench._Runner(timeout=1.0)
    try:
        case = bench.select_cases(["thr-tcp-64k"])[0]
        with pytest.raises(bench._Failed, match="timeout"):
            runner.measure(case, "zmq", 50_000_000)
    finally:
        runner.close()
