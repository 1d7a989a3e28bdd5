"""A stack's components and how each kind runs: a systemd unit, a plain process, or a container.

The profile names them (`components: {service: {unit: camera-service}, media: {container: ustreamer}}`,
a process as `{process: {port: 8002}}`, `{process: {pidfile: ...}}` or `{process: {pattern: ...}}`); a
profile without that section keeps its `units` (the first is the service, `media.unit` the media one),
and one with neither has its service found as the process listening on its API port. Each kind says
whether its component runs, which process to sample, and how to stop, start or restart it (the
profile's own command for the component wins; a plain process has no other way to be started again).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ivv.errors import CapabilityMissing
from ivv.load.resources import ProcessSelector
from ivv.targets import facts

ACTIONS = ("stop", "start", "restart")


@dataclass(frozen=True)
class Component:
    """One part of a stack: the API service or a dependency (the media server), and how it runs."""

    name: str                      # the profile's role for it: "service", "media"
    kind: str                      # "systemd" | "process" | "container"
    unit: str | None = None        # systemd unit
    pidfile: str | None = None     # process: a pid file
    port: int | None = None        # process: the port it listens on
    pattern: str | None = None     # process: a command-line match
    container: str | None = None   # container: its name
    engine: str = "docker"         # container: docker or podman
    commands: dict = field(default_factory=dict, compare=False)   # the profile's own stop/start/restart

    @property
    def label(self) -> str:
        ref = self.unit or self.container or self.pidfile or (f"port {self.port}" if self.port else self.pattern)
        return f"{self.name} ({self.kind} {ref})" if ref else f"{self.name} ({self.kind})"


@dataclass(frozen=True)
class ComponentState:
    """What the device says about a component, independently of the stack's own health answer."""

    name: str
    running: bool
    pid: int | None = None
    detail: str = ""


def from_profile(profile) -> list[Component]:
    """The components the profile names (see the module docstring for the three forms)."""
    declared = profile.data.get("components")
    if declared:
        return [_declared(name, spec) for name, spec in declared.items()]
    out = []
    units = profile.units
    media = profile.media
    legacy = {"media": {k: media[k] for k in ACTIONS if media.get(k)}}
    if units:
        out.append(Component("service", "systemd", unit=units[0]))
    elif profile.rpc.get("port"):
        out.append(Component("service", "process", port=int(profile.rpc["port"])))
    media_unit = media.get("unit") or (units[1] if len(units) > 1 else None)
    if media_unit:
        out.append(Component("media", "systemd", unit=media_unit, commands=legacy["media"]))
    elif media.get("port"):
        out.append(Component("media", "process", port=int(media["port"]), commands=legacy["media"]))
    return out


def _declared(name: str, spec: dict) -> Component:
    commands = {k: spec[k] for k in ACTIONS if spec.get(k)}
    if "unit" in spec:
        return Component(name, "systemd", unit=spec["unit"], commands=commands)
    if "container" in spec:
        return Component(name, "container", container=spec["container"], engine=spec.get("engine", "docker"),
                         commands=commands)
    process = spec["process"]
    return Component(name, "process", pidfile=process.get("pidfile"), port=process.get("port"),
                     pattern=process.get("pattern"), commands=commands)


# -- what each kind can do on a target with a shell ---------------------------------------------------
def state(target, comp: Component) -> ComponentState:
    """Does the component run, by the device's own account (systemd, the process table, the engine)?"""
    if comp.kind == "systemd":
        unit = facts.unit_state(target, comp.unit)
        pid = int(unit["MainPID"]) if unit.get("MainPID", "").isdigit() else 0
        return ComponentState(comp.name, unit.get("ActiveState") == "active", pid or None,
                              f"{unit.get('ActiveState')}/{unit.get('SubState')}")
    if comp.kind == "container":
        result = target.run(f"sudo -n {comp.engine} inspect -f '{{{{.State.Running}}}} {{{{.State.Pid}}}}' "
                            f"{shlex.quote(comp.container)}", timeout=30)
        running, _, pid = result.stdout.strip().partition(" ")
        return ComponentState(comp.name, result.exit_status == 0 and running == "true",
                              int(pid) if pid.isdigit() and pid != "0" else None,
                              result.stdout.strip() or result.stderr.strip()[-200:])
    result = target.run(f"{selector(comp).shell()} 2>/dev/null | head -n1", timeout=30)
    pid = result.stdout.strip()
    alive = pid.isdigit() and target.run(f"kill -0 {pid} 2>/dev/null || sudo -n kill -0 {pid}",
                                         timeout=30).exit_status == 0
    return ComponentState(comp.name, alive, int(pid) if alive else None, f"{selector(comp).label}: {pid or 'none'}")


def selector(comp: Component) -> ProcessSelector:
    """How the resource sampler finds the component's main process on the device."""
    if comp.kind == "systemd":
        return ProcessSelector(unit=comp.unit, sudo=True)
    if comp.kind == "container":
        return ProcessSelector(container=comp.container, engine=comp.engine, sudo=True)
    return ProcessSelector(pidfile=comp.pidfile, port=comp.port, pattern=comp.pattern, sudo=True)


def command(comp: Component, action: str) -> str:
    """The command that stops, starts or restarts the component; CapabilityMissing when there is none."""
    if action not in ACTIONS:
        raise ValueError(f"component action {action!r} is not one of {ACTIONS}")
    if comp.commands.get(action):
        return comp.commands[action]
    if comp.kind == "systemd":
        return f"sudo systemctl {action} {shlex.quote(comp.unit)}"
    if comp.kind == "container":
        return f"sudo -n {comp.engine} {action} {shlex.quote(comp.container)}"
    raise CapabilityMissing(f"{comp.label}: the profile gives no command to {action} a plain process "
                            f"(components.{comp.name}.{action})")
