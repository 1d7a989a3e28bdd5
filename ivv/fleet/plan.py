"""The plan of a run, per device, before it starts: which gate criteria the device can decide, and which
will be NOT VERIFIED there and why (no power control, no shell, the stack cannot stop its components, the
inventory marks the device not destructive, the device failed its pre-run health check).

What each suite needs is one table (`SUITE_NEEDS`, refined per criterion by `CRITERION_NEEDS`), read
against what the device can do (`Target.capabilities`), what the stack there can do
(`ivv.stack.base.Capability`, as `Stack.capabilities` says without touching the device) and the
inventory's `destructive`. The plan predicts; the run decides: a test that cannot measure still records
its own gap, so a wrong prediction never turns into a PASS.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ivv.stack.base import Capability

DESTRUCTIVE_SUITES = ("deployment", "rollback", "documentation", "resilience")


@dataclass(frozen=True)
class Needs:
    target: frozenset[str] = frozenset()       # Target.capabilities: shell, files, power, reset, link
    stack: frozenset[str] = frozenset()        # ivv.stack.base.Capability values
    destructive: bool = False                  # reinstalls, rolls back, cuts power or network


def needs(target=(), stack=(), destructive=False) -> Needs:
    return Needs(frozenset(target), frozenset(stack), destructive)


SUITE_NEEDS = {
    "deployment": needs(stack=[Capability.DEPLOY], destructive=True),
    "rollback": needs(stack=[Capability.DEPLOY], destructive=True),
    "documentation": needs(stack=[Capability.DEPLOY, Capability.SHELL], destructive=True),
    "resilience": needs(target=["power", "link"], destructive=True),
    "health": needs(stack=[Capability.CONTROL, Capability.CAMERA]),  # readiness and camera truth
    "fleet": needs(stack=[Capability.DEPLOY]),
}
CRITERION_NEEDS = {
    "perf.memory_mb": needs(stack=[Capability.RESOURCES]),
    "perf.memory_growth": needs(stack=[Capability.RESOURCES]),
    "security.least_exposure": needs(stack=[Capability.LISTENERS]),
}
WHY = {
    "shell": "no shell on the device", "files": "the device cannot receive files", "power": "no power control",
    "reset": "no reset", "link": "no control of its network link",
    Capability.DEPLOY: "the stack cannot be deployed there (no shell, or an endpoint-only profile)",
    Capability.CONTROL: "the stack cannot stop and start its components there",
    Capability.CAMERA: "the camera cannot be taken away there",
    Capability.RESOURCES: "the service's process cannot be sampled there",
    Capability.LISTENERS: "the stack's listening sockets cannot be read there",
    Capability.SHELL: "no shell where the stack runs",
}


@dataclass
class DevicePlan:
    target: str
    kind: str
    capabilities: list[str]
    stack_capabilities: list[str]
    destructive: bool
    decides: list[str] = field(default_factory=list)
    not_verified: dict[str, str] = field(default_factory=dict)
    preflight: dict | None = None

    def as_dict(self) -> dict:
        return {"target": self.target, "kind": self.kind, "capabilities": self.capabilities,
                "stack_capabilities": self.stack_capabilities, "destructive": self.destructive,
                "decides": self.decides, "not_verified": self.not_verified, "preflight": self.preflight}


def stack_capabilities(target, profile) -> frozenset[str]:
    """What the stack would be able to do on `target`, as the run's `deployed_stack` would build it."""
    from ivv.stack.device import DeviceStack
    from ivv.stack.endpoint import EndpointStack
    from ivv.stack.local import LocalStack

    if profile.endpoint_only:
        return EndpointStack(target, profile, target.environment).capabilities
    if "spawn" in target.capabilities and profile.local:
        return LocalStack(profile, Path(tempfile.gettempdir()) / "ivv-plan").capabilities
    return DeviceStack(target, profile, target.environment).capabilities


def not_destructive(name: str) -> str:
    return (f"the inventory marks {name} not destructive (destructive: false), so it is not reinstalled, "
            "rolled back, power-cycled or cut")


def missing(need: Needs, target_caps, stack_caps, destructive: bool, name: str) -> str | None:
    """Why a device cannot decide a criterion with these needs, or None."""
    if need.destructive and not destructive:
        return not_destructive(name)
    lacking = [WHY[c] for c in sorted(need.target - set(target_caps))]
    lacking += [WHY[c] for c in sorted(need.stack - set(stack_caps))]
    return "; ".join(lacking) if lacking else None


def plan_device(target, profile, gates, destructive: bool = True, preflight: dict | None = None) -> DevicePlan:
    stack_caps = stack_capabilities(target, profile)
    out = DevicePlan(target.name, target.kind, sorted(target.capabilities), sorted(str(c) for c in stack_caps),
                     destructive, preflight=preflight)
    for criterion in gates.criteria:
        if preflight is not None and not preflight.get("ok", True):
            out.not_verified[criterion.id] = f"left out: {preflight.get('reason')}"
            continue
        need = CRITERION_NEEDS.get(criterion.id) or SUITE_NEEDS.get(criterion.suite) or Needs()
        why = missing(need, target.capabilities, stack_caps, destructive, target.name)
        if why:
            out.not_verified[criterion.id] = why
        else:
            out.decides.append(criterion.id)
    return out


def left_out_of_suite(suite: str | None, destructive: bool, name: str) -> str | None:
    """Why the run must not run a suite's tests on a device at all (only: it would be destructive)."""
    return not_destructive(name) if suite in DESTRUCTIVE_SUITES and not destructive else None
