"""The `ssh` kind: a real device reached with the system `ssh` client.

One master connection per target (ControlMaster/ControlPersist) carries every command, file copy and the
testinfra host, so a check costs a round-trip, not a handshake. BatchMode and ConnectTimeout bound every
attempt: an unreachable device raises TargetUnreachable, it never hangs. Host keys: `accept-new` into a
known_hosts file in the ivv cache for real devices; the virtual device (a fresh image per build) skips
host-key checks.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivv.errors import InventoryError, TargetUnreachable
from ivv.targets.base import CommandResult, CommandTimeout, Target, quote, register_target
from ivv.targets.hostcontrol import HostCommands
from ivv.vdevice.host import cache_root

# stderr of `ssh` exiting 255 that means "no connection", not "the remote command exited 255"
_CONNECTION_ERRORS = ("ssh: connect to host", "Connection timed out", "Connection refused", "Connection closed",
                      "Connection reset", "kex_exchange_identification", "banner exchange", "Permission denied",
                      "Could not resolve hostname", "Host key verification failed", "No route to host",
                      "Network is unreachable", "port 22: ", "Broken pipe", "mux_client", "Timeout, server",
                      "Load key", "no such identity")


@register_target("ssh")
@dataclass(eq=False)
class SshTarget(Target):
    """A device over SSH as `user` with key `key`; `sudo` must work without a password for root steps."""

    host: str = ""
    port: int = 22
    user: str = "root"
    key: str | None = None
    connect_timeout: float = 10.0
    host_key_checking: str = "accept-new"    # or "off" for throwaway virtual devices
    known_hosts: str | None = None           # default <ivv cache>/known_hosts
    power: Mapping[str, Any] | None = None    # {down, up, down_s?}: commands on the harness host (a PDU, a relay)
    network: Mapping[str, Any] | None = None  # {down, up}: commands on the harness host (a switch port)

    capabilities = frozenset({"shell", "files"})
    shared = True

    @classmethod
    def inventory_entry(cls, entry, defaults, place):
        own_key = "key" in entry
        for key, value in defaults.items():
            entry.setdefault(key, value)
        if "user" not in entry:
            raise InventoryError(f"{place.at()}: {place.field('user')}: is required for kind ssh "
                                 f"(set it on the target or in defaults.user)")
        if "key" in entry:
            entry["key"] = place.readable_key(entry["key"], own_key)
        return entry

    def __post_init__(self) -> None:
        self._control_dir: Path | None = None
        self._power = HostCommands.from_inventory(self.power)
        self._network = HostCommands.from_inventory(self.network)
        extra = {"power", "reset"} if self._power else set()
        if self._network:
            extra.add("link")
        if extra:
            self.capabilities = frozenset(type(self).capabilities | extra)

    # --- the ssh command line ---------------------------------------------------------------------
    @property
    def control_path(self) -> Path:
        if self._control_dir is None:
            self._control_dir = Path(tempfile.mkdtemp(prefix="ivv-ssh-"))
        return self._control_dir / "master"

    def ssh_options(self) -> list[str]:
        """`-o` options shared by run/put/get, `ivv device ssh` and the testinfra host."""
        opts = {
            "BatchMode": "yes",
            "ConnectTimeout": str(int(self.connect_timeout)),
            "ConnectionAttempts": "1",
            "ServerAliveInterval": "5",
            "ServerAliveCountMax": "3",
            "ControlMaster": "auto",
            "ControlPath": str(self.control_path),
            "ControlPersist": "600",
            "IdentitiesOnly": "yes",
            "LogLevel": "ERROR",
        }
        if self.host_key_checking == "off":
            opts |= {"StrictHostKeyChecking": "no", "UserKnownHostsFile": "/dev/null"}
        else:
            opts |= {"StrictHostKeyChecking": "accept-new", "UserKnownHostsFile": str(self.known_hosts or cache_root() / "known_hosts")}
        args = []
        for key, value in opts.items():
            args += ["-o", f"{key}={value}"]
        if self.key:
            args += ["-i", str(Path(self.key).expanduser())]
        return args

    def ssh_argv(self, *remote: str, tty: bool = False) -> list[str]:
        argv = [shutil.which("ssh") or "ssh", *self.ssh_options(), "-p", str(self.port)]
        if tty:
            argv.append("-t")
        return [*argv, f"{self.user}@{self.host}", *(["--", *remote] if remote else [])]

    # --- commands and files -------------------------------------------------------------------------
    def run(self, cmd: str, timeout: float = 60, check: bool = False) -> CommandResult:
        result = self._ssh(cmd, timeout=timeout)
        return self._check(result, check, self.name)

    def _ssh(self, cmd: str, timeout: float, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) -> CommandResult:
        started = time.monotonic()
        try:
            proc = subprocess.run(self.ssh_argv(cmd), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise CommandTimeout(f"{self.name}: `{cmd[:120]}` did not finish within {timeout} s "
                                 f"({self.user}@{self.host}:{self.port})") from None
        out = proc.stdout.decode(errors="replace") if isinstance(proc.stdout, bytes) else ""
        err = proc.stderr.decode(errors="replace")
        if proc.returncode == 255 and any(marker in err for marker in _CONNECTION_ERRORS):
            raise TargetUnreachable(f"{self.name}: ssh {self.user}@{self.host}:{self.port} failed after "
                                    f"{time.monotonic() - started:.1f} s: {err.strip()[-300:]}")
        return CommandResult(cmd, proc.returncode, out, err, time.monotonic() - started)

    def put(self, local_path: str | Path, remote_path: str, mode: int | None = None, sudo: bool = False) -> None:
        tmp = f"{remote_path}.ivv-part"
        write = f"sudo tee {quote(tmp)} >/dev/null" if sudo else f"cat > {quote(tmp)}"
        prefix = "sudo " if sudo else ""
        cmd = f"{write} && {prefix}mv -f {quote(tmp)} {quote(remote_path)}"
        if mode is not None:
            cmd += f" && {prefix}chmod {mode:o} {quote(remote_path)}"
        with open(local_path, "rb") as source:
            result = self._ssh(cmd, timeout=300, stdin=source)
        self._check(result, True, f"{self.name}: put {local_path} -> {remote_path}")

    def get(self, remote_path: str, local_path: str | Path, sudo: bool = False) -> None:
        cmd = f"{'sudo ' if sudo else ''}cat {quote(remote_path)}"
        with open(local_path, "wb") as sink:
            result = self._ssh(cmd, timeout=300, stdout=sink)
        self._check(result, True, f"{self.name}: get {remote_path} -> {local_path}")

    def facts(self) -> dict:
        facts = super().facts()
        facts.update(host=self.host, port=self.port, user=self.user)
        return facts

    def address(self, port: int) -> tuple[str, int]:
        return (self.host, int(port))

    def wait_reachable(self, timeout: float) -> float:
        """Retry a no-op until it answers or `timeout` passes; return the seconds it took."""
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < timeout:
            try:
                if self._ssh("true", timeout=max(5.0, self.connect_timeout + 5)).succeeded:
                    return time.monotonic() - started
            except (TargetUnreachable, CommandTimeout) as exc:
                last = str(exc)
                self.drop_connection()
            time.sleep(1)
        raise TargetUnreachable(f"{self.name}: no SSH answer from {self.user}@{self.host}:{self.port} "
                                f"within {timeout:.0f} s: {last}")

    # --- power and link by host commands (inventory `power` / `network`) ---------------------------
    def _values(self) -> dict[str, str]:
        return {"host": self.host, "name": self.name}

    def power_cycle(self) -> float:
        """Power off and on with the inventory's host commands, then wait until the device is up again
        (SSH answers and systemd says running or degraded); returns the seconds from power-on to ready."""
        self.require("power")
        assert self._power is not None
        self.drop_connection()
        self._power.run("down", self._values())
        time.sleep(self._power.down_s)
        self._power.run("up", self._values())
        started = time.monotonic()
        deadline = started + self._power.boot_timeout_s
        state = "no answer"
        while time.monotonic() < deadline:
            try:
                self.wait_reachable(max(1.0, deadline - time.monotonic()))
                state = self._ssh("systemctl is-system-running", timeout=20).stdout.strip()
            except (TargetUnreachable, CommandTimeout) as exc:
                state = str(exc).splitlines()[0][-120:]
                self.drop_connection()
            if state in ("running", "degraded"):
                return time.monotonic() - started
            time.sleep(2)
        raise TargetUnreachable(f"{self.name}: not up within {self._power.boot_timeout_s:.0f} s of power-on "
                                f"(last: {state})")

    reset = power_cycle

    def link(self, up: bool) -> None:
        """Switch the device's network with the inventory's host commands."""
        self.require("link")
        assert self._network is not None
        self._network.run("up" if up else "down", self._values())
        self.drop_connection()

    def testinfra_host(self):
        import testinfra

        extra = " ".join(shlex.quote(arg) for arg in self.ssh_options() if arg != "-i" and arg != self._key_arg())
        return testinfra.get_host(f"ssh://{self.user}@{self.host}:{self.port}",
                                  ssh_identity_file=self._key_arg(), ssh_extra_args=extra,
                                  timeout=int(self.connect_timeout))

    def _key_arg(self) -> str | None:
        return str(Path(self.key).expanduser()) if self.key else None

    # --- connection lifecycle -----------------------------------------------------------------------
    def drop_connection(self) -> None:
        """End the master connection (after a reboot or link change the old one is dead)."""
        if self._control_dir is None or not self.control_path.exists():
            return
        try:
            subprocess.run([shutil.which("ssh") or "ssh", "-o", f"ControlPath={self.control_path}", "-O", "exit",
                            f"{self.user}@{self.host}"], capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.control_path.unlink(missing_ok=True)

    def close(self) -> None:
        self.drop_connection()
        if self._control_dir is not None:
            shutil.rmtree(self._control_dir, ignore_errors=True)
            self._control_dir = None
