"""Device facts, the same on every target kind: unit state, file ownership and mode, listening
addresses and users through testinfra (`host.service`, `host.file`, `host.socket`, `host.user`), and the
two facts testinfra lacks: which process listens on which socket (`ss -ltnp`) and the process tree
(`ps`). A target without a shell raises CapabilityMissing on the first call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

UNIT_PROPERTIES = ("ActiveState", "SubState", "UnitFileState", "Restart", "MainPID", "User", "LoadState",
                   "NRestarts", "FragmentPath")


def host(target):
    """The target's testinfra Host, made once per target (it reuses the target's own SSH connection)."""
    cached = getattr(target, "_testinfra_host_cache", None)
    if cached is None:
        cached = target.testinfra_host()
        try:
            target._testinfra_host_cache = cached
        except AttributeError:
            pass
    return cached


def unit_state(target, unit: str) -> dict[str, str]:
    """systemd's own view of a unit (ActiveState, SubState, UnitFileState, Restart, MainPID, ...);
    a unit systemd does not know reads LoadState=not-found."""
    properties = host(target).service(unit).systemd_properties
    return {key: properties.get(key, "") for key in UNIT_PROPERTIES}


def unit_ok(state: Mapping[str, str]) -> tuple[bool, str]:
    """Enabled, active (running) and restarted by systemd when it dies."""
    problems = []
    if state.get("LoadState") not in (None, "loaded"):
        problems.append(f"LoadState={state.get('LoadState')}")
    if state.get("UnitFileState") != "enabled":
        problems.append(f"UnitFileState={state.get('UnitFileState')!r} (want enabled)")
    if state.get("ActiveState") != "active":
        problems.append(f"ActiveState={state.get('ActiveState')!r} (want active)")
    if state.get("Restart") in (None, "", "no"):
        problems.append(f"Restart={state.get('Restart')!r} (want a restart policy)")
    return (not problems), "; ".join(problems) or "enabled, active, Restart=" + state.get("Restart", "")


def stat(target, path: str) -> dict | None:
    """Owner, group, mode and type of `path` as root, following a symlink to what it names; None if absent."""
    testinfra = host(target)
    with testinfra.sudo():
        item = testinfra.file(path)
        if not item.exists:
            return None
        if item.is_symlink:
            item = testinfra.file(item.linked_to)
        kind = "directory" if item.is_directory else "regular file" if item.is_file else "other"
        return {"owner": item.user, "group": item.group, "mode": oct(item.mode), "type": kind}


def normalise_address(address: str) -> str:
    """0.0.0.0 and * mean the same to a client; so do :: and [::]."""
    address = address.strip("[]").split("%")[0]
    return {"*": "0.0.0.0", "": "0.0.0.0"}.get(address, address)


def listening_addresses(target, port: int) -> set[str]:
    """The addresses something listens on for TCP `port` (testinfra's `host.socket`)."""
    out = set()
    for spec in host(target).socket.get_listening_sockets():
        match = re.match(r"^tcp://(?P<address>.*):(?P<port>\d+)$", spec)
        if match and int(match["port"]) == int(port):
            out.add(normalise_address(match["address"]))
    return out


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket and the process that holds it."""

    address: str
    port: int
    pid: int | None
    process: str = ""

    def text(self) -> str:
        return f"{self.address}:{self.port} (pid {self.pid} {self.process})".strip()


_SS_LINE = re.compile(r"^\S+\s+\d+\s+\d+\s+(?P<local>\S+):(?P<port>\d+)\s+\S+\s*(?P<users>.*)$")
_SS_USER = re.compile(r'\("(?P<name>[^"]*)",pid=(?P<pid>\d+)')


def parse_ss(text: str) -> list[Listener]:
    """Listening TCP sockets from `ss -ltnpH` (or with its header line)."""
    out = []
    for line in text.splitlines():
        m = _SS_LINE.match(line.strip())
        if not m:
            continue
        users = _SS_USER.findall(m["users"]) or [("", None)]
        for name, pid in users:
            out.append(Listener(m["local"].strip("[]").split("%")[0], int(m["port"]), int(pid) if pid else None,
                                name))
    return out


def parse_ps(text: str) -> tuple[dict[int, int], dict[int, str]]:
    """(pid -> ppid, pid -> user) from `ps -e -o pid=,ppid=,user=`."""
    tree, users = {}, {}
    for line in text.split("\n"):
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            tree[int(parts[0])] = int(parts[1])
            if len(parts) >= 3:
                users[int(parts[0])] = parts[2]
    return tree, users


def descendants(tree: Mapping[int, int], roots: Iterable[int]) -> set[int]:
    """The roots and every process below them in a pid -> ppid tree."""
    pids = set(roots)
    grew = True
    while grew:
        more = {pid for pid, ppid in tree.items() if ppid in pids} - pids
        pids |= more
        grew = bool(more)
    return pids
