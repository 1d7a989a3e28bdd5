"""Least exposure: every port the service listens on is bound where its configuration says.

The service's processes are found from the ports it is known to serve (the listener's pid and its
descendants); their listening sockets are then compared with the configured bind address per port. A
port configured for loopback that listens on every interface is a FAIL; so is a port nobody configured
that is reachable from outside the host. Sockets come from `ss -ltnp` where a target shell exists, and
from psutil for a process on this machine.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

import psutil

from ivv.security.findings import Finding, Undecided
from ivv.security.surface import LEAST_EXPOSURE

LOOPBACK_NAMES = {"localhost", "loopback"}
WILDCARDS = {"0.0.0.0", "::", "*", "[::]"}


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    pid: int | None
    process: str = ""

    def text(self) -> str:
        return f"{self.address}:{self.port} (pid {self.pid} {self.process})".strip()


def _ip(address: str) -> ipaddress._BaseAddress | None:
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_loopback(address: str) -> bool:
    if address in LOOPBACK_NAMES:
        return True
    ip = _ip(address)
    if ip is not None and getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return bool(ip and ip.is_loopback)


def within(observed: str, configured: str) -> bool:
    """Whether a socket bound to `observed` is no wider than the configured bind address allows."""
    if configured in WILDCARDS:
        return True
    if is_loopback(configured):
        return is_loopback(observed)
    if observed in WILDCARDS:
        return False
    a, b = _ip(observed), _ip(configured)
    return a is not None and b is not None and a == b


def judge(listeners: list[Listener], configured: dict[int, str]) -> tuple[bool, list[str], list[str]]:
    """(passed, problems, lines) comparing sockets with the configured bind per port."""
    problems, lines = [], []
    for sock in sorted(listeners, key=lambda s: (s.port, s.address)):
        want = configured.get(sock.port)
        if want is None:
            ok = is_loopback(sock.address)
            lines.append(f"{sock.text()}: not in the configuration, {'loopback only' if ok else 'EXPOSED'}")
            if not ok:
                problems.append(f"port {sock.port} is not configured but listens on {sock.address}")
        else:
            ok = within(sock.address, want)
            lines.append(f"{sock.text()}: configured {want}, {'ok' if ok else 'WIDER THAN CONFIGURED'}")
            if not ok:
                problems.append(f"port {sock.port} configured for {want} listens on {sock.address}")
    missing = sorted(set(configured) - {s.port for s in listeners})
    for port in missing:
        lines.append(f"port {port}: configured, not seen listening by the service's processes")
    return not problems, problems, lines


# -- local processes (psutil) ---------------------------------------------------------------------
def local_service_pids(ports: list[int]) -> set[int]:
    """Pids of the processes listening on `ports`, with all their descendants."""
    roots = set()
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports and conn.pid:
            roots.add(conn.pid)
    pids = set(roots)
    for pid in roots:
        try:
            pids.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.Error:
            continue
    return pids


def local_listeners(pids: set[int]) -> list[Listener]:
    out = []
    for pid in sorted(pids):
        try:
            proc = psutil.Process(pid)
            name = proc.name()
            conns = proc.net_connections(kind="inet")
        except psutil.Error:
            continue
        for conn in conns:
            if conn.status == psutil.CONN_LISTEN:
                out.append(Listener(conn.laddr.ip, conn.laddr.port, pid, name))
    return out


# -- a target shell (`ss -ltnp`) ------------------------------------------------------------------
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
            out.append(Listener(m["local"].strip("[]"), int(m["port"]), int(pid) if pid else None, name))
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


def remote_listeners(target, ports: list[int]) -> tuple[list[Listener], dict[int, str], str]:
    """The service's listening sockets and process users on a target with a shell, and raw `ss` output."""
    ss = target.run("sudo -n ss -ltnpH 2>/dev/null || ss -ltnpH", timeout=20)
    ps = target.run("ps -e -o pid=,ppid=,user=", timeout=20)
    every = parse_ss(ss.stdout)
    tree, users = parse_ps(ps.stdout)
    pids = {s.pid for s in every if s.port in ports and s.pid}
    grew = True
    while grew:
        more = {pid for pid, ppid in tree.items() if ppid in pids} - pids
        pids |= more
        grew = bool(more)
    return [s for s in every if s.pid in pids], {p: u for p, u in users.items() if p in pids}, ss.stdout


def local_users(pids: set[int]) -> dict[int, str]:
    users = {}
    for pid in pids:
        try:
            users[pid] = psutil.Process(pid).username()
        except psutil.Error:
            continue
    return users


def exposure_probe(listeners: list[Listener], configured: dict[int, str], source: str,
                   raw: str = "", users: dict[int, str] | None = None,
                   allowed_users: list[str] | None = None) -> Finding | Undecided:
    name = "every listening port bound as configured"
    if not configured:
        return Undecided(LEAST_EXPOSURE, name, "the profile gives no bind address for any port")
    if not listeners:
        return Undecided(LEAST_EXPOSURE, name, f"no listening socket of the service found ({source})")
    passed, problems, lines = judge(listeners, configured)
    if allowed_users and users:
        wrong = sorted({f"pid {pid} runs as {user}" for pid, user in users.items() if user not in allowed_users})
        lines += [f"process users: {json.dumps(users, sort_keys=True)}; allowed: {allowed_users}"]
        problems += wrong
        passed = passed and not wrong
    elif users:
        lines.append(f"process users (not judged: the profile names no service user): "
                     f"{sorted(set(users.values()))}")
    return Finding(LEAST_EXPOSURE, name, passed,
                   expected="; ".join(f"port {p} on {a}" for p, a in sorted(configured.items())),
                   observed="; ".join(problems) if problems else f"{len(listeners)} socket(s), all as configured",
                   exchange=f"# listening sockets of the service ({source})\n" + "\n".join(lines) + "\n"
                            + (f"\n# raw output\n{raw}" if raw else ""),
                   details={"listeners": [s.text() for s in listeners], "configured": configured})
