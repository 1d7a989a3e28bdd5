"""Least exposure: every port the service listens on is bound where its configuration says.

The service's processes are found from the ports it is known to serve (the listener's pid and its
descendants); their listening sockets are then compared with the configured bind address per port. A
port configured for loopback that listens on every interface is a FAIL; so is a port nobody configured
that is reachable from outside the host. The stack lists its own sockets (`Stack.listeners`: `ss -ltnp`
over a target's shell, psutil on this machine); this module judges them.
"""

from __future__ import annotations

import ipaddress
import json

from ivv.evidence.facts import Fact, Undecided
from ivv.security.surface import LEAST_EXPOSURE
from ivv.targets.facts import Listener, parse_ps, parse_ss  # noqa: F401 - the listener type and parsers, for callers

LOOPBACK_NAMES = {"localhost", "loopback"}
WILDCARDS = {"0.0.0.0", "::", "*", "[::]"}


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


def exposure_probe(listeners: list[Listener], configured: dict[int, str], source: str,
                   raw: str = "", users: dict[int, str] | None = None,
                   allowed_users: list[str] | None = None) -> Fact | Undecided:
    name = "every listening port bound as configured"
    if not configured:
        return Undecided(name, "the profile gives no bind address for any port", criterion=LEAST_EXPOSURE)
    if not listeners:
        return Undecided(name, f"no listening socket of the service found ({source})", criterion=LEAST_EXPOSURE)
    passed, problems, lines = judge(listeners, configured)
    if allowed_users and users:
        wrong = sorted({f"pid {pid} runs as {user}" for pid, user in users.items() if user not in allowed_users})
        lines += [f"process users: {json.dumps(users, sort_keys=True)}; allowed: {allowed_users}"]
        problems += wrong
        passed = passed and not wrong
    elif users:
        lines.append(f"process users (not judged: the profile names no service user): "
                     f"{sorted(set(users.values()))}")
    exchange = (f"# listening sockets of the service ({source})\n" + "\n".join(lines) + "\n"
                + (f"\n# raw output\n{raw}" if raw else ""))
    return Fact(name, passed,
                expected="; ".join(f"port {p} on {a}" for p, a in sorted(configured.items())),
                observed="; ".join(problems) if problems else f"{len(listeners)} socket(s), all as configured",
                exchanges=(exchange,), details={"listeners": [s.text() for s in listeners], "configured": configured},
                criterion=LEAST_EXPOSURE)
