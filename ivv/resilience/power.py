"""How a power cut is made on a target, and whether destructive tests may run on it at all.

The virtual device is cut with QMP `quit` and started again on the same overlay (`power_cycle`): the
guest loses its RAM (its page cache included) at once; the disk keeps every write QEMU had accepted
(QEMU completes them before it exits). Its disk runs with `cache=unsafe`, which only means QEMU ignores
the guest's flush requests and leaves writes in the *host's* page cache: the host keeps running, so what
the guest wrote (and did not lose in its own RAM) survives, as on a device whose storage has no volatile
write cache. A QMP `system_reset` would model the same, but under TCG a reset in the same QEMU boots far
slower and was seen to hang. What this does not model: a storage device that
loses or reorders its own cached writes (SD cards, eMMC without power-loss protection), torn sectors, or a
brown-out that corrupts flash. A real device is cut with its inventory's `power` commands (a PDU outlet,
a relay), which does model those. Without either, power-cut criteria are NOT VERIFIED.

Destructive tests (power cuts, a full data partition, the camera removed) run on a real device only when
its inventory entry says `destructive: true`, or the command line passes `--ivv-destructive` (or
IVV_DESTRUCTIVE=1); the virtual device is always allowed (it is reset to a clean state afterwards).
An entry that does not say lets a run reinstall and roll the device back (ivv.config.inventory) but not
cut it; `destructive: false` forbids both.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ivv.errors import CapabilityMissing


def destructive_allowed(target, opted_in: bool = False) -> tuple[bool, str]:
    """(allowed, why) for destructive tests on `target`."""
    if getattr(target, "kind", "") == "qemu":
        return True, "the virtual device (always allowed; restored to a clean state afterwards)"
    said = getattr(target, "destructive", None)
    if said is False:
        return False, f"the inventory entry of {target.name} says destructive: false"
    if said is True:
        return True, f"the inventory entry of {target.name} says destructive: true"
    if opted_in or os.environ.get("IVV_DESTRUCTIVE", "") not in ("", "0"):
        return True, "destructive tests were asked for on the command line"
    return False, (f"destructive tests are opt-in on real devices: {target.name} may be harmed (power cut, full "
                   "disk, camera removed); set `destructive: true` on its inventory entry or pass "
                   "--ivv-destructive")


@dataclass(frozen=True)
class PowerCut:
    """The way this target's power is cut: `cut()` cuts now, powers on, returns seconds to the device up."""

    target: object
    how: str

    def cut(self) -> float:
        started = time.monotonic()
        self.target.power_cycle()
        return round(time.monotonic() - started, 3)


def power_cut_for(target) -> PowerCut:
    """CapabilityMissing (so: NOT VERIFIED) when the target's power cannot be cut."""
    if getattr(target, "kind", "") == "qemu" and "power" in target.capabilities:
        return PowerCut(target, "QMP quit and a new QEMU on the same overlay (the guest loses RAM and page cache; "
                        "QEMU's accepted writes stay)")
    if "power" in target.capabilities:
        return PowerCut(target, "the inventory's power commands (down, then up)")
    raise CapabilityMissing(f"target {target.name} ({target.kind}) has no power control: give its inventory entry "
                            "`power: {down: ..., up: ...}` (commands for a PDU outlet or relay on the harness host)")
