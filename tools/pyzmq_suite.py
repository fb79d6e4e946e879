#!/usr/bin/env python3
"""Run pyzmq's own test suite against purezmq (``import zmq`` = purezmq).

pyzmq's tests are the API oracle: this runner fetches them from pyzmq's
published source distribution at a pinned version (with pip, the ordinary
package client), caches them, and runs the files listed in ``FILES`` in an
environment that has no pyzmq, with a ``sitecustomize.py`` on ``PYTHONPATH``
that calls ``purezmq.install_as_zmq()``. It prints pass/fail/skip counts per
file and compares the failures with ``pyzmq_expected_failures.txt``:

- an unlisted test that fails (or errors, or its file crashes) fails the run;
- a listed test that passes fails the run too (remove it from the list), so
  the list only shrinks.

Usage::

    python tools/pyzmq_suite.py                # make/reuse .venv-pyzmq-suite, run
    python tools/pyzmq_suite.py --python PY    # use an existing interpreter (no pyzmq!)
    python tools/pyzmq_suite.py test_socket    # only some files
    python tools/pyzmq_suite.py -v             # pytest's failure output too

The environment (``.venv-pyzmq-suite``) and the cache (``.cache/pyzmq-tests``)
live in the repository and are git-ignored. pyzmq's test files are never
copied into the tree: they are downloaded, run and thrown away with the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PYZMQ_VERSION = "27.1.0"

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "pyzmq-tests"
DEFAULT_VENV = REPO / ".venv-pyzmq-suite"
EXPECTED = Path(__file__).resolve().parent / "pyzmq_expected_failures.txt"

# What the environment needs: pytest and the plugins pyzmq's pytest.ini and
# conftest use, the optional extras the tests exercise, and scikit-build-core
# so that `pip download --no-binary :all:` can read the sdist's metadata.
REQUIREMENTS = [
    "pytest",
    "pytest-timeout",
    "pytest-asyncio",
    "tornado",
    "gevent",
    "pynacl",
    "scikit-build-core",
]

# The files this runner holds purezmq to (issue 10, parts 1-2). pyzmq 27.1.0
# has no separate curve_keygen test file; purezmq's own tests cover
# `python -m zmq.curve_keygen`.
FILES = [
    "test_constants",
    "test_context",
    "test_error",
    "test_etc",
    "test_message",
    "test_multipart",
    "test_pair",
    "test_poll",
    "test_pubsub",
    "test_reqrep",
    "test_retry_eintr",
    "test_socket",
    "test_version",
    "test_z85",
    "test_asyncio",
    "test_future",
    "test_zmqstream",
    "test_ioloop",
    "test_auth",
    "test_security",
    # issue 11
    "test_log",
    "test_ssh",
    "test_decorators",
    "test_win32_shim",
    "test_device",
    "test_monitor",
    "test_monqueue",
    "test_proxy_steerable",
    "test_imports",
    "test_ext",
    "test_draft",
]

# Files not run here, on purpose: they test pyzmq's build (its Cython and cffi
# backends, C headers, a mypy run over pyzmq's own stub tree), not its API.
# test_draft runs and skips as on pyzmq's wheels (zmq.DRAFT_API is False).
EXCLUDED = {
    "test_cython": "pyzmq's Cython API (cimport zmq): no C layer to compile against",
    "test_cffi_backend": "pyzmq's cffi backend internals",
    "test_mypy": "runs mypy over pyzmq's own examples/ and mypy_tests/ trees (purezmq's tests/test_typing.py covers a user program)",
    "test_includes": "C headers (zmq.get_includes) for building C extensions",
}

PER_TEST_TIMEOUT = 30  # seconds, pytest-timeout
# pytest-timeout's signal method fails the one test and goes on; the thread
# method (which ends the whole pytest process) only where the tests use
# SIGALRM themselves.
TIMEOUT_METHOD = {"test_retry_eintr": "thread"}
PER_FILE_TIMEOUT = 240  # seconds, the whole pytest process of one file

# pyzmq's test_proxy_steerable skips all three of its tests when libzmq is
# 4.3.5 or later ("Steerable Proxies removed in libzmq 4.3.5"), and purezmq
# reports libzmq 4.3.5, so on pyzmq's own wheels and here alike they would
# never run. purezmq has zmq.proxy_steerable (with libzmq 4.3.x's PAUSE,
# RESUME, TERMINATE and STATISTICS), so for this file the tests see
# zmq_version_info() == (4, 3, 4) and run for real.
REPORTED_LIBZMQ = {"test_proxy_steerable": "4.3.4"}

# Installed as sitecustomize.py on PYTHONPATH: every interpreter the tests
# start (subprocesses included) gets `import zmq` = purezmq.
SITECUSTOMIZE = """\
import os
import purezmq
purezmq.install_as_zmq()
if os.environ.get("PUREZMQ_SUITE_LIBZMQ"):
    _v = tuple(int(x) for x in os.environ["PUREZMQ_SUITE_LIBZMQ"].split("."))
    purezmq.zmq_version_info = lambda: _v
"""

# A pytest plugin recording each test's outcome by node id.
PLUGIN = """\
import json, os

_results = {}

def pytest_runtest_logreport(report):
    prev = _results.get(report.nodeid)
    if report.failed:
        outcome = "failed"
    elif report.skipped:
        outcome = "skipped"
    elif report.when == "call":
        outcome = "passed"
    else:
        return
    if prev == "failed":
        return
    if prev == "passed" and outcome == "skipped":
        return
    _results[report.nodeid] = outcome
    with open(os.environ["PUREZMQ_SUITE_RESULTS"], "w") as f:
        json.dump(_results, f)
"""


def log(msg: str) -> None:
    print(msg, flush=True)


def ensure_env(python: str | None) -> str:
    """An interpreter with the test requirements and no pyzmq."""
    if python is None:
        py = DEFAULT_VENV / "bin" / "python"
        if not py.exists():
            log(f"creating {DEFAULT_VENV}")
            venv.create(DEFAULT_VENV, with_pip=True)
        stamp = DEFAULT_VENV / ".purezmq-suite-reqs"
        if not stamp.exists() or stamp.read_text() != "\n".join(REQUIREMENTS):
            log("installing " + " ".join(REQUIREMENTS))
            subprocess.run(
                [str(py), "-m", "pip", "install", "-q", *REQUIREMENTS],
                check=True,
            )
            stamp.write_text("\n".join(REQUIREMENTS))
        python = str(py)
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('zmq') is not None)"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    if probe.stdout.strip() != "False":
        sys.exit(f"{python}: this environment has a `zmq` module (pyzmq?); use one without it")
    return python


def fetch_tests(python: str) -> Path:
    """pyzmq's tests/ and pytest.ini at PYZMQ_VERSION, from the sdist (cached)."""
    dest = CACHE / f"pyzmq-{PYZMQ_VERSION}"
    if (dest / "tests" / "conftest.py").exists():
        return dest
    log(f"downloading pyzmq=={PYZMQ_VERSION} sdist")
    has_skbuild = subprocess.run([python, "-c", "import scikit_build_core"], capture_output=True)
    if has_skbuild.returncode != 0:
        sys.exit(f"{python}: pip download of pyzmq's sdist needs scikit-build-core installed")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--no-build-isolation",
                f"pyzmq=={PYZMQ_VERSION}",
                "-d",
                tmp,
            ],
            check=True,
        )
        (sdist,) = Path(tmp).glob("pyzmq-*.tar.gz")
        top = f"pyzmq-{PYZMQ_VERSION}/"
        unpacked = Path(tmp) / "x"
        with tarfile.open(sdist) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.name.startswith(top + "tests/") or m.name == top + "pytest.ini"
            ]
            tar.extractall(unpacked, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(unpacked / top.rstrip("/")), dest)
    return dest


def python_version(python: str) -> tuple[int, int]:
    out = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def load_expected(version: tuple[int, int]) -> dict[str, str]:
    """Listed failures that apply to an interpreter of ``version``."""
    expected: dict[str, str] = {}
    for line in EXPECTED.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, sep, reason = line.partition(" -- ")
        if not sep or not reason.strip():
            sys.exit(f"{EXPECTED.name}: every entry needs ' -- reason': {line!r}")
        test_id = test_id.strip()
        if test_id.endswith("]") and " [python<" in test_id:
            test_id, _, cond = test_id[:-1].partition(" [python<")
            major, minor = (int(x) for x in cond.split("."))
            if version >= (major, minor):
                continue
        expected[test_id.strip()] = reason.strip()
    return expected


def run_file(python: str, root: Path, name: str, helper: Path, verbose: bool) -> dict:
    results_path = helper / f"{name}.json"
    results_path.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(helper), str(REPO / "src")])
    env["PUREZMQ_SUITE_RESULTS"] = str(results_path)
    env.pop("PUREZMQ_SUITE_LIBZMQ", None)
    if name in REPORTED_LIBZMQ:
        env["PUREZMQ_SUITE_LIBZMQ"] = REPORTED_LIBZMQ[name]
    env.pop("PYTHONSTARTUP", None)
    cmd = [
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "purezmq_suite_plugin",
        f"--timeout={PER_TEST_TIMEOUT}",
        f"--timeout-method={TIMEOUT_METHOD.get(name, 'signal')}",
        "-q",
        "-rN" if not verbose else "-rfE",
        "--tb=short" if verbose else "--tb=no",
        f"tests/{name}.py",
    ]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=PER_FILE_TIMEOUT,
        )
        out = proc.stdout + proc.stderr
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = None
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    # pytest exits 0 (all passed), 1 (some failed) or 5 (nothing collected);
    # anything else -- or a crash, or the file timeout -- fails the file.
    crashed = rc not in (0, 1, 5) or (rc == 1 and not any(v == "failed" for v in results.values()))
    return {
        "name": name,
        "results": results,
        "crashed": crashed,
        "rc": rc,
        "output": out,
        "seconds": time.monotonic() - t0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="test file names (default: all of FILES)")
    parser.add_argument("--python", help="interpreter to run the tests with (must lack pyzmq)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="files run at once")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    args = parser.parse_args()

    files = [f.removesuffix(".py") for f in args.files] or FILES
    for f in files:
        if f in EXCLUDED:
            sys.exit(f"{f} is excluded: {EXCLUDED[f]}")
    python = ensure_env(args.python)
    root = fetch_tests(python)
    expected = load_expected(python_version(python))

    with tempfile.TemporaryDirectory(prefix="purezmq-suite-") as tmp:
        helper = Path(tmp)
        (helper / "sitecustomize.py").write_text(SITECUSTOMIZE)
        (helper / "purezmq_suite_plugin.py").write_text(PLUGIN)
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = list(pool.map(lambda f: run_file(python, root, f, helper, args.verbose), files))
        elapsed = time.monotonic() - t0

    unexpected_fail: list[str] = []
    unexpected_pass: list[str] = []
    seen: set[str] = set()
    log(f"pyzmq {PYZMQ_VERSION} tests on purezmq ({python})")
    log(f"{'file':<24}{'passed':>7}{'failed':>7}{'skipped':>8}{'xfail':>6}   time")
    totals = [0, 0, 0, 0]
    for run in runs:
        counts = [0, 0, 0, 0]
        for test_id, outcome in sorted(run["results"].items()):
            seen.add(test_id)
            listed = test_id in expected
            if outcome == "passed":
                counts[0] += 1
                if listed:
                    unexpected_pass.append(test_id)
            elif outcome == "failed":
                if listed:
                    counts[3] += 1
                else:
                    counts[1] += 1
                    unexpected_fail.append(test_id)
            else:
                counts[2] += 1
        note = ""
        if run["crashed"]:
            note = f"  CRASHED (exit {run['rc']})" if run["rc"] is not None else "  TIMED OUT"
            unexpected_fail.append(f"tests/{run['name']}.py (the pytest process)")
        for i in range(4):
            totals[i] += counts[i]
        log(
            f"{run['name']:<24}{counts[0]:>7}{counts[1]:>7}{counts[2]:>8}{counts[3]:>6}"
            f"{run['seconds']:>7.1f}s{note}"
        )
        if args.verbose or run["crashed"]:
            tail = run["output"] if args.verbose else run["output"][-3000:]
            log(tail)
    log(f"{'total':<24}{totals[0]:>7}{totals[1]:>7}{totals[2]:>8}{totals[3]:>6}{elapsed:>7.1f}s")
    ran = {f"tests/{f}.py" for f in files}
    for test_id in expected:
        if test_id.split("::")[0] in ran and test_id not in seen:
            log(f"note: listed but not run: {test_id}")

    if unexpected_fail:
        log("\nFailures not in the expected-failures list:")
        for t in unexpected_fail:
            log(f"  {t}")
    if unexpected_pass:
        log(f"\nListed in {EXPECTED.name} but passed (remove them):")
        for t in unexpected_pass:
            log(f"  {t}")
    if unexpected_fail or unexpected_pass:
        return 1
    log("\nOK: every failure is an expected one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
