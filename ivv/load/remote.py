"""Locust workers on load-generator hosts (inventory entries with `role: loadgen`), started over SSH.

Load beyond what one runner host can generate uses Locust's own distributed mode: the master (in the load
process on this machine) binds to the address the hosts reach it at, and each host runs `loadgen.workers`
worker processes, one SSH session each, over the host's own SSH master connection. The load spec and the
token go over the session's stdin (`python -m ivv.load.run --spec - --worker-of ...`), so the token is
never on a command line, in an environment listing or in a file on the host. Each worker sends its calls to
the master at the end, so the evidence is one histogram over every call, as for local workers.

The hosts must reach the device's API at the URL the harness uses (true for devices on a lab network; not
for a virtual device's forwarded ports, which only this machine reaches).
"""

from __future__ import annotations

import contextlib
import shlex
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from ivv.errors import InventoryError, PrerequisiteError

MASTER = "{master}"             # in a host's worker command: the master's HOST:PORT, filled in by the master
CHECK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class LoadHost:
    """One load-generator host as the load process needs it: the command that starts one worker there."""

    name: str
    argv: tuple[str, ...]       # ssh ... user@host -- exec PYTHON -m ivv.load.run --spec - --worker-of {master}
    workers: int
    master: str                 # the address of this machine the host reaches the master at

    def command(self, master: str) -> list[str]:
        return [a.replace(MASTER, master) for a in self.argv]

    def to_dict(self) -> dict:
        return {**asdict(self), "argv": list(self.argv)}

    @classmethod
    def from_dict(cls, data: dict) -> LoadHost:
        return cls(data["name"], tuple(data["argv"]), int(data["workers"]), data["master"])


def route_address(host: str, port: int) -> str:
    """This machine's address on the route to `host` (a UDP connect picks it and sends nothing)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((host, port))
        except OSError as exc:
            raise PrerequisiteError(f"no route to load generator {host}: {exc}") from exc
        return s.getsockname()[0]


def bind_address(hosts: list[LoadHost]) -> str:
    """One address when every host reaches the master at the same one, else every interface ("*")."""
    addresses = {h.master for h in hosts}
    return addresses.pop() if len(addresses) == 1 else "*"


@contextlib.contextmanager
def generators(inventory, names: list[str] | None = None) -> Iterator[list[LoadHost]]:
    """The inventory's load generators (all `role: loadgen` entries, or `names`), each checked first: it is
    reachable over SSH and its interpreter runs ivv's load process. Their SSH connections stay open for
    the run (the workers' sessions share them) and are closed at the end."""
    names = inventory.loadgens() if names is None else names
    targets = []
    try:
        hosts = []
        for name in names:
            target = inventory.create(name)
            targets.append(target)
            hosts.append(_checked(inventory, name, target))
        yield hosts
    finally:
        for target in targets:
            target.close()


def _checked(inventory, name: str, target) -> LoadHost:
    entry = inventory.entry(name)
    if entry.get("role") != "loadgen":
        raise InventoryError(f"{inventory.path}: '{name}' is not a load generator (it needs role: loadgen)")
    if not hasattr(target, "ssh_argv"):
        raise InventoryError(f"{inventory.path}: load generator '{name}': kind {entry['kind']} cannot start "
                             f"Locust workers (kind ssh can)")
    options = entry.get("loadgen") or {}
    python = options.get("python", "python3")
    check = target.run(f"{shlex.quote(python)} -m ivv.load.run --help", timeout=CHECK_TIMEOUT_S)
    if not check.succeeded:
        raise PrerequisiteError(f"load generator '{name}' ({target.host}): `{python} -m ivv.load.run` exited "
                                f"{check.exit_status}: {(check.stderr or check.stdout).strip()[-300:]} (install ivv for "
                                f"that interpreter, or set loadgen.python in {inventory.path})")
    master = options.get("master") or route_address(target.host, target.port)
    remote = f"exec {shlex.quote(python)} -m ivv.load.run --spec - --worker-of {MASTER}"
    return LoadHost(name, tuple(target.ssh_argv(remote)), int(options.get("workers", 1)), master)
