"""The pre-run health check of one device (as LAVA checks a board before it takes jobs): is it reachable,
has it disk space, is its clock in sync with this runner, is the camera there, and does no other run
hold its lease?

A device that fails it is left out of the run: its tests are skipped with the reason, so its criteria
are NOT VERIFIED on it, and the other devices go on. It is an admission rule, not a criterion: its
limits are gate settings (`fleet.preflight.min_free_mb`, `fleet.preflight.max_clock_offset_s`), with the
defaults below where the gate sets none, and the result says which limit it used and where it came from.
The clock is read with NTP-style exchanges (ivv.clock): out of sync only when even the best exchange's
uncertainty cannot explain the offset.
"""

from __future__ import annotations

import shlex
import socket
import time
from dataclasses import asdict, dataclass, field

from ivv import clock
from ivv.errors import IvvError

DEFAULTS = {"min_free_mb": 200, "max_clock_offset_s": 5.0}
SETTING = "fleet.preflight"
CLOCK_EXCHANGES = 3


@dataclass(frozen=True)
class Check:
    name: str               # reachable | disk | clock | camera | lease
    ok: bool | None         # None: does not apply to this device
    observed: str
    required: str = ""


@dataclass
class Preflight:
    target: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    @property
    def reason(self) -> str | None:
        failed = [c for c in self.checks if c.ok is False]
        if not failed:
            return None
        parts = [f"{c.name}: {c.observed}" + (f" (needs {c.required})" if c.required else "") for c in failed]
        return f"{self.target} failed its pre-run health check: {'; '.join(parts)}"

    def as_dict(self) -> dict:
        return {"ok": self.ok, "reason": self.reason, "seconds": round(self.seconds, 3),
                "checks": [asdict(c) for c in self.checks]}


def limits(gates) -> dict:
    """The limits this run uses: {name: (value, where it comes from)}."""
    out = {}
    for key, default in DEFAULTS.items():
        value = gates.setting(f"{SETTING}.{key}") if gates else None
        out[key] = (float(value), f"gate setting {SETTING}.{key}") if value is not None else (default, "ivv default")
    return out


_PROBE = r"""
echo "alive=yes"
p={path}; while [ ! -e "$p" ] && [ "$p" != / ]; do p=$(dirname "$p"); done
echo "disk_path=$p"; echo "free_kb=$(df -Pk "$p" 2>/dev/null | awk 'NR==2 {{print $4}}')"
{camera}
"""


def _simulated_camera(target, profile) -> bool:
    """The local process tree plays its own camera: there is no device file to look for."""
    return "spawn" in target.capabilities and bool(getattr(profile, "local", None))


def check(target, profile, gates=None, lease=None, peek: bool = False) -> Preflight:
    """Every check on a target that is up (the pool created it, booted it and took its lease `lease`).
    `peek` (`ivv plan`): no lease is taken; one another run holds now fails the check."""
    started = time.monotonic()
    result = Preflight(target.name)
    bounds = limits(gates)
    if "shell" not in target.capabilities:
        result.checks.append(_reachable_by_port(target, profile))
        result.checks += [Check(name, None, "not checked: no shell on this device") for name in ("disk", "clock", "camera")]
    else:
        result.checks += _shell_checks(target, profile, bounds)
    reached = result.checks[0].ok is not False
    result.checks.append(_lease_now(target) if peek and reached else _lease_check(target, lease))
    result.seconds = time.monotonic() - started
    return result


def unreachable(target_name: str, error: IvvError) -> Preflight:
    """The result for a device the pool could not bring up or lease."""
    from ivv.targets.lease import LeaseUnavailable

    text = " ".join(str(error).split())[:300]
    if isinstance(error, LeaseUnavailable):
        return Preflight(target_name, [Check("reachable", True, "answers"), Check("lease", False, text,
                                                                                  "no lease held by another run")])
    return Preflight(target_name, [Check("reachable", False, text, "a command or connection that answers")])


def _shell_checks(target, profile, bounds) -> list[Check]:
    device = (getattr(profile, "camera", None) or {}).get("device")
    look = "" if not device or _simulated_camera(target, profile) else f"test -e {shlex.quote(device)} && echo camera=yes || echo camera=no"
    install = ((getattr(profile, "paths", None) or {}).get("install")) or "/"
    try:
        answer = target.run(_PROBE.format(path=shlex.quote(install), camera=look), timeout=30)
    except IvvError as exc:
        return [Check("reachable", False, " ".join(str(exc).split())[:300], "a command that answers")]
    facts = dict(line.split("=", 1) for line in answer.stdout.splitlines() if "=" in line)
    checks = [Check("reachable", facts.get("alive") == "yes", f"a command answered in {answer.duration:.2f} s"
                    if facts.get("alive") == "yes" else f"exit {answer.exit_status}: {answer.stderr.strip()[:200]}")]
    min_mb, where = bounds["min_free_mb"]
    free = int(facts["free_kb"]) // 1024 if facts.get("free_kb", "").isdigit() else None
    checks.append(Check("disk", None if free is None else free >= min_mb,
                        f"{free} MB free on {facts.get('disk_path')}" if free is not None else "df gave no answer",
                        f">= {min_mb:g} MB ({where})"))
    checks.append(_clock_check(target, bounds["max_clock_offset_s"]))
    if not device:
        checks.append(Check("camera", None, "the profile names no camera device"))
    elif _simulated_camera(target, profile):
        checks.append(Check("camera", None, "the local process tree simulates its camera"))
    else:
        checks.append(Check("camera", facts.get("camera") == "yes", f"{device} {'present' if facts.get('camera') == 'yes' else 'missing'}",
                            f"{device} present"))
    return checks


def _clock_check(target, bound) -> Check:
    limit, where = bound

    def device_clock() -> float:
        return float(target.run("date +%s.%N", timeout=20, check=True).stdout.strip())
    try:
        offset = clock.measure(device_clock, exchanges=CLOCK_EXCHANGES)
    except (IvvError, ValueError) as exc:
        return Check("clock", False, f"could not read the device clock ({' '.join(str(exc).split())[:200]})",
                     f"|offset| <= {limit:g} s ({where})")
    beyond = abs(offset.offset_s) - offset.uncertainty_s
    return Check("clock", beyond <= limit,
                 f"offset {offset.offset_s:+.3f} s ± {offset.uncertainty_s:.3f} s from this runner",
                 f"|offset| <= {limit:g} s ({where})")


def _reachable_by_port(target, profile) -> Check:
    port = int(((getattr(profile, "rpc", None) or {}).get("port")) or 0)
    try:
        host, real = target.address(port)
        with socket.create_connection((host, real), timeout=5):
            return Check("reachable", True, f"{host}:{real} accepts connections")
    except (OSError, IvvError) as exc:
        return Check("reachable", False, f"API port {port}: {exc}", "the API port accepts connections")


def _lease_check(target, lease) -> Check:
    if not getattr(target, "shared", False):
        return Check("lease", None, "not shared: this run owns the device")
    if lease is None or lease.info is None:
        return Check("lease", None, "no lease taken")
    info = lease.info
    taken = f", taken over from expired run {info.taken_over_from}" if info.taken_over_from else ""
    return Check("lease", True, f"held by this run ({lease.run_id}){taken}", "no lease held by another run")


def _lease_now(target) -> Check:
    """The lease on a shared device as another run would find it now (read only)."""
    from ivv.targets.lease import Lease

    if not getattr(target, "shared", False):
        return Check("lease", None, "not shared: the run will own the device")
    lease = Lease(target, run_id="ivv-plan")
    try:
        info, device_now = lease.read(), lease.device_now()
    except IvvError as exc:
        return Check("lease", False, f"could not read the lease ({' '.join(str(exc).split())[:200]})")
    if info is None or device_now is None or info.expires <= device_now:
        return Check("lease", True, "free" if info is None else f"expired lease of run {info.run_id} (taken over)",
                     "no lease held by another run")
    return Check("lease", False, f"held by run {info.run_id} ({info.holder}@{info.host}) for another "
                 f"{info.expires - device_now:.0f} s", "no lease held by another run")
