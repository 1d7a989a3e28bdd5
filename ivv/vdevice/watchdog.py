"""Lease watchdog: a detached process that ends a virtual device whose owner died or whose time is up.

`python -m ivv.vdevice.watchdog --pid QEMU_PID --deadline EPOCH [--owner PID] [--qmp SOCK] [--run-dir DIR]`
polls every second. When the owner process (the pytest session or ivv command) is gone, or the deadline
passes, it asks QEMU to quit over QMP, then SIGTERM/SIGKILL, and removes the run folder. It exits as soon
as QEMU is gone, so a clean shutdown leaves nothing behind either. Chosen over QEMU's own options because
QEMU 7.2 has no parent-death option and `-daemonize` detaches it from the session on purpose.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import time
from pathlib import Path


def is_qemu(pid: int) -> bool:
    """True while `pid` is a live QEMU process (guards against a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return b"qemu-system" in cmdline and state != "Z"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_qemu(pid: int, qmp: str | None, grace: float = 10.0) -> None:
    """QMP quit, then SIGTERM, then SIGKILL, each with a bounded wait."""
    asked = False
    if qmp and is_qemu(pid):
        try:
            from ivv.vdevice.qmp import QMPClient

            with QMPClient(qmp, timeout=3) as client:
                client.execute("quit")
            asked = True
        except Exception:  # noqa: BLE001 - a dead monitor only means we go on to signals
            pass
    for sig, wait in ((None, grace if asked else 0.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if sig is not None and is_qemu(pid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not is_qemu(pid):
                return
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivv.vdevice.watchdog")
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--deadline", type=float, required=True, help="epoch seconds")
    parser.add_argument("--owner", type=int)
    parser.add_argument("--qmp")
    parser.add_argument("--run-dir")
    args = parser.parse_args(argv)
    while is_qemu(args.pid):
        if time.time() > args.deadline or (args.owner and not alive(args.owner)):
            end_qemu(args.pid, args.qmp)
            if args.run_dir:
                shutil.rmtree(args.run_dir, ignore_errors=True)
            return 0
        time.sleep(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
