"""Drive a Jupyter kernel end to end; run by tests/test_jupyter.py in its own interpreter.

Usage: python jupyter_driver.py KERNEL_NAME. The kernel spec (found through
JUPYTER_PATH) says which Python and zmq the kernel runs on; this process's
``import zmq`` (pyzmq, or purezmq through a sitecustomize) is the client's.
Prints one line per step and exits 0 when every step passed.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from jupyter_client import KernelManager


def shell_reply(kc: Any, msg_id: str, timeout: float = 30) -> dict[str, Any]:
    """The shell reply to ``msg_id`` (wait_for_ready may leave extra kernel_info replies)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply  # type: ignore[no-any-return]
        assert reply["msg_type"] == "kernel_info_reply", reply


def run_cell(kc: Any, code: str, timeout: float = 30) -> tuple[dict[str, Any], str]:
    """Execute ``code``; return the execute_reply content and what went to stdout."""
    msg_id = kc.execute(code)
    out = []
    seen = []  # every iopub message until idle, printed when a step fails
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"no idle status in {timeout} s: {seen}"
        msg = kc.get_iopub_msg(timeout=timeout)
        seen.append((msg["msg_type"], msg["parent_header"].get("msg_id"), msg["content"]))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    if not out:
        print(f"cell {code!r} printed nothing; iopub saw {seen}", file=sys.stderr, flush=True)
    return shell_reply(kc, msg_id, timeout)["content"], "".join(out)


def main(kernel_name: str) -> None:
    import zmq

    print("client zmq:", zmq.__name__, getattr(zmq, "__file__", ""), flush=True)
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        print("ready", flush=True)

        content, out = run_cell(kc, "import zmq, sys; print(6 * 7)")
        assert content["status"] == "ok", content
        assert out == "42\n", out
        print("execute ok", flush=True)

        content, out = run_cell(kc, "import purezmq; print(sys.modules['zmq'] is purezmq)")
        print("kernel on purezmq:", out.strip(), flush=True)

        msg_id = kc.complete("import o", 8)
        reply = shell_reply(kc, msg_id)
        assert "os" in reply["content"]["matches"], reply["content"]
        print("complete ok", flush=True)

        # stop_on_error=False: with the default, ipykernel aborts the queue after the
        # error reply, and a request that reaches its shell thread before the "stop
        # aborting" callback runs (ipykernel's own race, independent of the zmq below;
        # seen under load) is answered "aborted" instead of run.
        msg_id = kc.execute("import time\ntime.sleep(60)", stop_on_error=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the cell runs
            msg = kc.get_iopub_msg(timeout=30)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "busy"
            ):
                break
        time.sleep(0.5)
        km.interrupt_kernel()
        reply = shell_reply(kc, msg_id)
        assert reply["content"]["status"] == "error", reply["content"]
        assert reply["content"]["ename"] == "KeyboardInterrupt", reply["content"]
        print("interrupt ok", flush=True)

        content, out = run_cell(kc, "print('still alive')")
        assert content["status"] == "ok", content
        assert out.strip() == "still alive", out
        time.sleep(1.5)  # a few heartbeat periods
        assert kc.hb_channel.is_beating(), "no heartbeat"
        assert km.is_alive()
        print("heartbeat ok", flush=True)
    finally:
        kc.stop_channels()
    km.shutdown_kernel(now=False)
    assert not km.is_alive()
    print("shutdown ok", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
