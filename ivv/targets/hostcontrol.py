"""Power and network control of a real device by commands run on the harness host.

A lab gives a device a smart PDU outlet, a relay or a managed switch port; the inventory names the
commands that switch it (`power: {down, up}`, `network: {down, up}`), and they run here, on the harness
host, not on the device (which is off or unreachable while they matter). `{host}` and `{name}` in a
command are the target's address and name. Each command is bounded by `timeout_s` and must exit 0.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ivv.errors import TargetError
from ivv.targets.base import CommandResult


@dataclass(frozen=True)
class HostCommands:
    """Two commands that switch something off and on again, run on the harness host."""

    down: str
    up: str
    down_s: float = 5.0         # how long it stays off in a power cycle
    timeout_s: float = 60.0
    boot_timeout_s: float = 600.0

    @classmethod
    def from_inventory(cls, entry: Mapping | None) -> HostCommands | None:
        if not entry:
            return None
        return cls(str(entry["down"]), str(entry["up"]), float(entry.get("down_s", 5.0)),
                   float(entry.get("timeout_s", 60.0)), float(entry.get("boot_timeout_s", 600.0)))

    def run(self, which: str, values: Mapping[str, str]) -> CommandResult:
        """Run the `down` or `up` command; TargetError naming it when it fails or hangs."""
        command = getattr(self, which)
        for key, value in values.items():
            command = command.replace("{" + key + "}", str(value))
        started = time.monotonic()
        try:
            proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise TargetError(f"host command `{command}` did not finish within {self.timeout_s:.0f} s") from None
        result = CommandResult(command, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
        if proc.returncode != 0:
            raise TargetError(f"host command `{command}` exited {proc.returncode}: "
                              f"{(proc.stderr or proc.stdout).strip()[-300:]}")
        return result
