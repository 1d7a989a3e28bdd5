"""A stack on a target, driven through the target's shell and the profile's own commands.

What it can do follows from the target and the profile: with a shell it can list its sockets, read the
journal and watch files; with systemd components (the profile's `units`) or the profile's stop/start
commands it can control them and sample their processes; with `camera.remove`/`restore` it can take the
camera away; with a `faults` section it can set fault knobs. `DeviceStack` (ivv deployed it) and
`EndpointStack` (ivv did not) are both this, with their own credentials.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivv.errors import CapabilityMissing
from ivv.stack import components
from ivv.stack.base import Capability, ComponentState, Listeners, Stack
from ivv.targets import facts

# Paths a whole-disk scan for unexpected writes skips: the data folders, volatile and virtual trees.
SCAN_PRUNE = ("/proc", "/sys", "/dev", "/run", "/var/log", "/var/lib", "/var/cache", "/tmp")


class RemoteStack(Stack):
    """Base of the stacks a target's shell reaches (virtual or real device, or this machine)."""

    @property
    def capabilities(self) -> frozenset[str]:
        if "shell" not in self.target.capabilities:
            return frozenset()
        caps = {Capability.SHELL, Capability.LISTENERS, Capability.JOURNAL, Capability.FILES}
        if self.components:
            caps.add(Capability.RESOURCES)
        if any(self._command_for(c.name, "restart") for c in self.components) or \
                any(self._command_for(c.name, "stop") for c in self.components):
            caps.add(Capability.CONTROL)
        if self.profile.camera.get("remove") and self.profile.camera.get("restore"):
            caps.add(Capability.CAMERA)
        return frozenset(caps)

    # -- control ------------------------------------------------------------------------------------
    def _command_for(self, component: str, action: str) -> str | None:
        comp = next((c for c in self.components if c.name == component), None)
        if comp is None:
            return None
        try:
            return components.command(comp, action)
        except CapabilityMissing:
            return None

    def control(self, component: str, action: str):
        self.require(Capability.CONTROL)
        command = components.command(self.component(component), action)
        return self.target.run(command, timeout=120)

    def component_state(self, name: str) -> ComponentState:
        if "shell" not in self.target.capabilities:
            raise CapabilityMissing(f"{self}: no shell on {self.target.name} to observe its components")
        return components.state(self.target, self.component(name))

    def process(self, component: str = "service"):
        self.require(Capability.RESOURCES)
        return self.target, components.selector(self.component(component))

    # -- facts ----------------------------------------------------------------------------------------
    def listeners(self) -> Listeners:
        """The sockets of the processes serving the profile's ports, with every descendant."""
        self.require(Capability.LISTENERS)
        every, raw = self.target.listeners()
        tree, users = self.target.processes()
        ports = set(self.binds()) or {self.port(s) for s in ("rpc", "health") if self.profile.data.get(s)}
        pids = facts.descendants(tree, {s.pid for s in every if s.port in ports and s.pid})
        return Listeners([s for s in every if s.pid in pids], {p: u for p, u in users.items() if p in pids},
                         f"listening sockets on {self.target.name}", raw)

    def device_time(self) -> float | None:
        """The device's own clock (epoch seconds), to ask its journal about a window; None without a shell."""
        if "shell" not in self.target.capabilities:
            return None
        result = self.target.run("date -u +%s.%N", timeout=30)
        try:
            return float(result.stdout.strip())
        except ValueError:
            return None

    def journal(self, since: float, until: float | None = None) -> str:
        """The device journal between two device-clock times (epoch seconds), short ISO lines in UTC."""
        self.require(Capability.JOURNAL)
        window = f"--since @{since:.0f}" + (f" --until @{until + 1:.0f}" if until is not None else "")
        command = f"journalctl --no-pager -q -o short-iso-precise --utc {window}"
        result = self.target.run(f"sudo -n {command} 2>/dev/null || {command}", 120)
        return result.stdout

    def set_faults(self, knobs: Mapping[str, Any]) -> None:
        """Write the profile's faults file and apply it (restart). An empty mapping clears every knob."""
        faults = self.profile.faults
        if faults is None or "shell" not in self.target.capabilities:
            raise CapabilityMissing(f"{self}: has no fault knobs to set")
        if not knobs:
            self.run(faults.get("clear") or f"sudo rm -f {faults['file']} && {faults['apply']}", 120)
            return
        text = self.profile.fault_file_text(dict(knobs))
        self.run(f"printf %s {shlex.quote(text)} | sudo tee {shlex.quote(faults['file'])} >/dev/null && "
                 f"sudo chmod 0640 {shlex.quote(faults['file'])} && {faults['apply']}", 120)

    def _places(self) -> set[str]:
        return {"/tmp"} | {str(p) for d in self.data_dirs for p in (Path(d).parent, Path(d).parent.parent)}

    def fs_snapshot(self, canary: str) -> dict[str, str]:
        self.require(Capability.FILES)
        prune = " ".join(f"-path {shlex.quote(d)} -prune -o" for d in [*self.data_dirs, *SCAN_PRUNE])
        res = self.run(f"sudo find / -xdev {prune} -type f -printf '%p\\t%s %T@\\n' 2>/dev/null | sort; "
                       f"sudo find /tmp -maxdepth 1 -name {shlex.quote(canary + '*')} -printf '%p\\tpresent\\n'", 180)
        return dict(line.split("\t", 1) for line in res.stdout.splitlines() if "\t" in line)

    def canaries(self, canary: str) -> dict[str, str]:
        self.require(Capability.FILES)
        res = self.run(f"sudo find {' '.join(shlex.quote(p) for p in sorted(self._places()))} -maxdepth 1 "
                       f"-name {shlex.quote(canary + '*')} -printf '%p\\t%T@\\n' 2>/dev/null", 60)
        return dict(line.split("\t", 1) for line in res.stdout.splitlines() if "\t" in line)

