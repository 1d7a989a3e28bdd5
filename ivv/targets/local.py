"""The `local` kind: processes on this machine, for fast self-tests and endpoint-only runs.

Commands written for a device say `sudo -n ...`; run as root on a machine without sudo (a CI container),
they go through a small `sudo` stand-in put first on PATH (options dropped, `-u USER` through runuser),
so a stack's own scripts and ivv's device facts run here unchanged.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from ivv.targets.base import CommandResult, CommandTimeout, Target, register_target

SUDO_STAND_IN = """#!/bin/sh
# ivv: root on a machine without sudo: run the command as given; -u USER runs it as that user.
user=
while [ $# -gt 0 ]; do
  case "$1" in -u) user=$2; shift 2;; --) shift; break;; -*) shift;; *) break;; esac
done
if [ -n "$user" ] && [ "$user" != root ]; then exec runuser -u "$user" -- "$@"; fi
exec "$@"
"""


def ensure_sudo() -> None:
    """Root without sudo: put the stand-in first on this process's PATH (children inherit it)."""
    if os.geteuid() != 0 or shutil.which("sudo"):
        return
    folder = Path(tempfile.mkdtemp(prefix="ivv-sudo-"))
    (folder / "sudo").write_text(SUDO_STAND_IN)
    (folder / "sudo").chmod(0o755)
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


@register_target("local")
class LocalTarget(Target):
    """Commands run with /bin/sh as the current user; the device's ports are this machine's. It can
    `spawn`: the harness starts a stack's processes here itself (the profile's `local` process tree)."""

    capabilities = frozenset({"shell", "files", "spawn"})

    def __post_init__(self) -> None:
        ensure_sudo()

    def run(self, cmd: str, timeout: float = 60, check: bool = False) -> CommandResult:
        started = time.monotonic()
        proc = subprocess.Popen(["/bin/sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise CommandTimeout(f"{self.name}: `{cmd[:120]}` did not finish within {timeout} s") from None
        result = CommandResult(cmd, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
                               time.monotonic() - started)
        return self._check(result, check, self.name)

    def put(self, local_path: str | Path, remote_path: str, mode: int | None = None, sudo: bool = False) -> None:
        shutil.copyfile(local_path, remote_path)
        if mode is not None:
            os.chmod(remote_path, mode)

    def get(self, remote_path: str, local_path: str | Path, sudo: bool = False) -> None:
        shutil.copyfile(remote_path, local_path)

    def address(self, port: int) -> tuple[str, int]:
        return ("127.0.0.1", int(port))

    def listeners(self) -> tuple[list, str]:
        """Listening sockets from psutil (no `ss` or root needed on this machine)."""
        from ivv.targets.facts import Listener

        out = []
        for conn in psutil.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr:
                try:
                    name = psutil.Process(conn.pid).name() if conn.pid else ""
                except psutil.Error:
                    name = ""
                out.append(Listener(conn.laddr.ip, conn.laddr.port, conn.pid, name))
        return out, ""

    def processes(self) -> tuple[dict[int, int], dict[int, str]]:
        tree, users = {}, {}
        for proc in psutil.process_iter(["pid", "ppid", "username"]):
            tree[proc.info["pid"]] = proc.info["ppid"] or 0
            users[proc.info["pid"]] = proc.info["username"] or ""
        return tree, users

    def testinfra_host(self):
        import testinfra

        return testinfra.get_host("local://")
