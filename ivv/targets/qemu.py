"""The `qemu` kind: the virtual device. A Machine (QEMU, overlay, QMP) plus an SshTarget to talk to it.

Started lazily on first use: the cached image is built if missing, a fresh overlay booted, and the target
is ready once SSH answers and `systemctl is-system-running` says running or degraded (bounded wait;
TargetUnreachable naming the console log otherwise). Power, reset and link go through QMP, and so do
snapshots of the whole running machine (`snapshot_save` / `snapshot_load`: HMP savevm / loadvm, about a
second each). With `attach` (a run folder) it uses a device another process started and owns: power,
reset, link and snapshots work (a power cycle starts a new QEMU on the same overlay, which the owner
follows by the run folder's state.json), a fresh overlay does not.
"""

from __future__ import annotations

import atexit
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivv.errors import CapabilityMissing, TargetError, TargetUnreachable
from ivv.targets.base import CommandResult, CommandTimeout, Target, register_target
from ivv.targets.ssh import SshTarget
from ivv.vdevice import snapshots as vm_snapshots
from ivv.vdevice.image import Image, build_image
from ivv.vdevice.machine import Machine, choose_accel, mark_kvm_broken, qemu_version, sweep_stale_runs
from ivv.vdevice.progress import Progress
from ivv.vdevice.recipe import load_recipe

READY_STATES = ("running", "degraded")


@register_target("qemu")
@dataclass(eq=False)
class QemuTarget(Target):
    """A virtual device booted from the image recipe in `recipe` (default deployment/vdevice)."""

    recipe: str | None = None
    memory_mb: int = 1024
    cpus: int = 2
    accel: str | None = None           # tcg | kvm | auto (default: IVV_ACCEL or auto)
    boot_timeout: float = 480.0
    ttl: float = 3 * 3600.0            # lease: QEMU is ended after this many seconds whatever happens
    quiet: bool = False
    owned: bool = True                 # False for `ivv device up`: the VM outlives this process (TTL still holds)
    attach: str | None = None          # run folder of a device another process started and owns

    capabilities = frozenset({"shell", "files", "power", "reset", "link", "snapshot"})

    @classmethod
    def inventory_entry(cls, entry, defaults, place):
        entry = super().inventory_entry(entry, defaults, place)
        if "recipe" in entry:
            entry["recipe"] = str(place.beside(entry["recipe"]).resolve())
        return entry

    def __post_init__(self) -> None:
        self.machine: Machine | None = None
        self.ssh: SshTarget | None = None
        self.image: Image | None = None
        self.boots: list[dict[str, Any]] = []    # {"kind": "boot"|"power_cycle"|"reset"|"restore", "seconds": s}
        self.progress = Progress(quiet=self.quiet)
        self._atexit_registered = False

    # --- lifecycle ---------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.machine is not None and self.machine.running()

    def start(self) -> float:
        """Build or reuse the image, boot a fresh overlay, wait until ready; returns boot-to-ready seconds."""
        if self.started:
            return self.boots[-1]["seconds"] if self.boots else 0.0
        if self.attach:
            return self._attach()
        sweep_stale_runs()
        self.image = build_image(load_recipe(self.recipe), progress=self.progress)
        accel = choose_accel(self.accel)
        try:
            return self._boot_new(accel)
        except TargetUnreachable:
            if accel != "kvm" or self.accel == "kvm":
                raise
            mark_kvm_broken(f"boot with kvm did not become ready within {self.boot_timeout} s")
            self.progress.step(f"{self.name}: KVM boot failed; falling back to TCG")
            self._discard_machine()
            return self._boot_new("tcg")

    def _boot_new(self, accel: str) -> float:
        assert self.image is not None
        self.machine = Machine(self.name, self.image, memory_mb=self.memory_mb, cpus=self.cpus, accel=accel,
                               ttl=self.ttl, owner_pid=os.getpid() if self.owned else None)
        self.ssh = SshTarget(name=self.name, environment=self.environment, tags=self.tags, host="127.0.0.1",
                             port=0, user=self.image.user, key=str(self.image.ssh_key), connect_timeout=5,
                             host_key_checking="off")
        if self.owned and not self._atexit_registered:
            atexit.register(self.close)
            self._atexit_registered = True
        return self._power_on("boot")

    def _power_on(self, kind: str) -> float:
        assert self.machine is not None and self.ssh is not None
        started = time.monotonic()
        self.progress.step(f"{self.name}: booting ({self.machine.accel}, {self.memory_mb} MiB, {self.cpus} cpus); "
                           f"console {self.machine.console_log}")
        self.machine.start()
        self.ssh.port = self.machine.ssh_port
        return self._wait_ready(kind, started)

    def _wait_ready(self, kind: str, started: float) -> float:
        assert self.machine is not None and self.ssh is not None
        deadline = started + self.boot_timeout
        state, next_report = "no answer", started + 15
        while time.monotonic() < deadline:
            if not self.machine.running():
                raise TargetUnreachable(f"{self.name}: QEMU exited during boot; console log "
                                        f"{self.machine.console_log}:\n{self.machine.console_tail()}")
            try:
                result = self.ssh.run("systemctl is-system-running", timeout=20)
                state = result.stdout.strip() or result.stderr.strip()
                if state in READY_STATES:
                    seconds = time.monotonic() - started
                    self.boots.append({"kind": kind, "seconds": round(seconds, 2), "state": state,
                                       "accel": self.machine.accel})
                    self.progress.step(f"{self.name}: ready ({state}) after {seconds:.1f} s; "
                                       f"ssh {self.ssh.user}@127.0.0.1:{self.ssh.port}")
                    return seconds
            except (TargetUnreachable, CommandTimeout) as exc:
                state = str(exc).splitlines()[0][-120:]
                self.ssh.drop_connection()
            if time.monotonic() > next_report:
                self.progress.step(f"{self.name}: waiting for ready ({state})")
                next_report = time.monotonic() + 15
            time.sleep(1)
        raise TargetUnreachable(f"{self.name}: not ready within {self.boot_timeout:.0f} s (last: {state}); "
                                f"console log {self.machine.console_log}:\n{self.machine.console_tail()}")

    def _attach(self) -> float:
        self.owned = False
        self.machine = Machine.attach(Path(self.attach))
        self.image = self.machine.image
        self.ssh = SshTarget(name=self.name, environment=self.environment, tags=self.tags, host="127.0.0.1",
                             port=self.machine.ssh_port, user=self.image.user, key=str(self.image.ssh_key),
                             connect_timeout=5, host_key_checking="off")
        return self._wait_ready("attach", time.monotonic())

    def _discard_machine(self) -> None:
        if self.ssh is not None:
            self.ssh.close()
        if self.machine is not None and not self.attach:
            self.machine.destroy()
        self.machine = None

    def close(self) -> None:
        """Power off and remove the overlay; the cached image stays."""
        self._discard_machine()
        self.ssh = None

    def _ready_ssh(self) -> SshTarget:
        if not self.started:
            if self.machine is not None:
                raise TargetUnreachable(f"{self.name}: QEMU is not running (lease over or killed); "
                                        f"console log {self.machine.console_log}")
            self.start()
        assert self.ssh is not None and self.machine is not None
        if self.ssh.port != self.machine.ssh_port:   # powered on again by an attached process
            self.ssh.drop_connection()
            self.ssh.port = self.machine.ssh_port
        return self.ssh

    # --- Target interface --------------------------------------------------------------------------
    def run(self, cmd: str, timeout: float = 60, check: bool = False) -> CommandResult:
        return self._ready_ssh().run(cmd, timeout=timeout, check=check)

    def put(self, local_path, remote_path: str, mode: int | None = None, sudo: bool = False) -> None:
        self._ready_ssh().put(local_path, remote_path, mode=mode, sudo=sudo)

    def get(self, remote_path: str, local_path, sudo: bool = False) -> None:
        self._ready_ssh().get(remote_path, local_path, sudo=sudo)

    def facts(self) -> dict[str, Any]:
        facts = Target.facts(self)
        assert self.machine is not None and self.image is not None
        facts.update(accel=self.machine.accel, qemu=qemu_version(), memory_configured_mb=self.memory_mb,
                     image_key=self.image.key, ssh_port=self.machine.ssh_port,
                     boot_seconds=self.boots[-1]["seconds"] if self.boots else None,
                     console_log=str(self.machine.console_log))
        return facts

    def address(self, port: int) -> tuple[str, int]:
        self._ready_ssh()
        assert self.machine is not None
        return ("127.0.0.1", self.machine.forward(port))

    def power_cycle(self) -> float:
        """Power off (QMP quit) and on again from the same overlay: deployed state survives, RAM does not.
        A new QEMU process, not a reset: under TCG a guest reset in the same process boots slowly (the old
        translated code is invalidated page by page) and was seen to hang in soft lockups."""
        self.require("power")
        self._ready_ssh()
        assert self.machine is not None and self.ssh is not None
        self.ssh.drop_connection()
        self.machine.stop()
        return self._power_on("power_cycle")

    def reset(self) -> float:
        """Hard reset (QMP system_reset), then wait until ready again."""
        self._ready_ssh()
        assert self.machine is not None and self.ssh is not None
        started = time.monotonic()
        self.machine.qmp("system_reset")
        self.ssh.drop_connection()
        time.sleep(1)
        return self._wait_ready("reset", started)

    def link(self, up: bool) -> None:
        """Plug or unplug the virtual network cable (QMP set_link)."""
        self._ready_ssh()
        assert self.machine is not None and self.ssh is not None
        self.machine.qmp("set_link", {"name": "n0", "up": bool(up)})
        self.ssh.drop_connection()

    def restore(self) -> float:
        """A clean device: power off, throw the overlay away, boot a fresh one from the image."""
        if self.attach:
            raise CapabilityMissing(f"{self.name}: attached to a device another process owns; it cannot "
                                    "replace its overlay")
        if self.machine is None:
            return self.start()
        assert self.ssh is not None
        self.ssh.drop_connection()
        self.machine.stop()
        self.machine.fresh_overlay()
        return self._power_on("restore")

    # --- snapshots ---------------------------------------------------------------------------------
    def snapshots(self) -> dict[str, dict]:
        """name -> {"meta", "saved", "seconds"} of the snapshots in this device's overlay."""
        self._ready_ssh()
        assert self.machine is not None
        return vm_snapshots.known(self.machine)

    def snapshot_save(self, name: str, meta: dict | None = None) -> float:
        """Save the whole running machine as `name` (replacing one of that name); returns seconds."""
        self._ready_ssh()
        assert self.machine is not None
        return vm_snapshots.save(self.machine, name, meta)

    def snapshot_load(self, name: str) -> float:
        """Put the machine back as saved in `name`, set its clock to now (the guest resumes at the time it
        was saved, and tokens or timers judged by wall time would be off), wait for SSH; returns seconds."""
        self._ready_ssh()
        assert self.machine is not None and self.ssh is not None
        started = time.monotonic()
        vm_snapshots.load(self.machine, name)
        self.ssh.drop_connection()
        clock = self.ssh.run(f"sudo -n date -u -s @{time.time():.3f} >/dev/null", timeout=120)
        if not clock.succeeded:
            raise TargetError(f"{self.name}: clock not set after loading snapshot {name}: {clock.stderr.strip()}")
        seconds = round(time.monotonic() - started, 2)
        self.boots.append({"kind": "loadvm", "snapshot": name, "seconds": seconds, "accel": self.machine.accel})
        return seconds

    def testinfra_host(self):
        return self._ready_ssh().testinfra_host()

    def inspect(self) -> dict:
        """Facts of the device of this name already running (`ivv device up`), else of a fresh boot."""
        from ivv.vdevice.machine import running_devices

        running = {d["name"]: d for d in running_devices()}
        if self.name not in running or self.started:
            return super().inspect()
        ssh = attached(running[self.name])
        try:
            return {**ssh.facts(), "kind": self.kind, "accel": running[self.name]["accel"]}
        finally:
            ssh.close()

    @property
    def console_log(self):
        if self.machine is None:
            raise CapabilityMissing(f"{self.name}: not booted, no console log yet")
        return self.machine.console_log

    def ensure_ready(self) -> None:
        """Boot if needed; raise TargetError when the device is not running."""
        self._ready_ssh()
        if not self.started:
            raise TargetError(f"{self.name}: not running")


def attached(device: dict) -> SshTarget:
    """An SSH target on a virtual device already running (`ivv device up`), from its state file."""
    return SshTarget(name=device["name"], host="127.0.0.1", port=int(device["ssh_port"]), user=device["user"],
                     key=device["key"], connect_timeout=5, host_key_checking="off")
