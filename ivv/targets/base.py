"""The Target interface every kind implements, its CommandResult, and the kind registry.

A target says what it can do through `capabilities` ({"shell", "files", "power", "reset", "link"});
asking for something outside them raises CapabilityMissing, so a suite can record NOT VERIFIED with the
reason instead of erroring.
"""

from __future__ import annotations

import importlib
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ivv.errors import CapabilityMissing, InventoryError, TargetError


class CommandTimeout(TargetError):
    """A command on a target did not finish within its timeout."""


@dataclass
class CommandResult:
    """One command's outcome on any transport."""

    command: str
    exit_status: int
    stdout: str
    stderr: str
    duration: float

    @property
    def succeeded(self) -> bool:
        return self.exit_status == 0

    @property
    def rc(self) -> int:
        return self.exit_status


# Shell script printing `key=value` facts; POSIX sh only, so it runs on any Linux device.
FACTS_SCRIPT = r"""
echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
model=$(tr -d '\0' < /sys/firmware/devicetree/base/model 2>/dev/null)
[ -n "$model" ] || model=$(cat /sys/class/dmi/id/product_name 2>/dev/null)
echo "model=$model"
echo "cpu=$(grep -m1 -E '^(model name|Model|Hardware)' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
echo "memory_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
. /etc/os-release 2>/dev/null
echo "os_id=$ID"
echo "os_version_codename=$VERSION_CODENAME"
echo "os_pretty_name=$PRETTY_NAME"
echo "python=$(python3 -c 'import platform; print(platform.python_version())' 2>/dev/null)"
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
echo "uptime_s=$(cut -d' ' -f1 /proc/uptime)"
if [ -e /dev/video0 ]; then
  echo "video0=yes"
  echo "video0_group=$(stat -c %G /dev/video0)"
  echo "video0_mode=$(stat -c %a /dev/video0)"
else
  echo "video0=no"
fi
"""


def parse_facts(text: str) -> dict[str, Any]:
    """Turn FACTS_SCRIPT output into the facts dict (typed where the value is a number)."""
    raw = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    facts: dict[str, Any] = {
        "hostname": raw.get("hostname", ""),
        "model": raw.get("model", ""),
        "cpu": raw.get("cpu", ""),
        "cores": int(raw["cores"]) if raw.get("cores", "").isdigit() else None,
        "memory_mb": int(raw["memory_kb"]) // 1024 if raw.get("memory_kb", "").isdigit() else None,
        "kernel": raw.get("kernel", ""),
        "arch": raw.get("arch", ""),
        "os_release": {"id": raw.get("os_id", ""), "version_codename": raw.get("os_version_codename", ""),
                       "pretty_name": raw.get("os_pretty_name", "")},
        "python": raw.get("python", ""),
        "boot_id": raw.get("boot_id", ""),
        "uptime_s": float(raw["uptime_s"]) if raw.get("uptime_s") else None,
        "video0": raw.get("video0") == "yes",
    }
    if facts["video0"]:
        facts["video0_group"] = raw.get("video0_group", "")
        facts["video0_mode"] = raw.get("video0_mode", "")
    return facts


@dataclass(eq=False)
class Target:
    """Base of every kind. Subclasses implement `run`, `put`, `get` and what their capabilities allow."""

    name: str
    environment: str = "staging"
    tags: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    tls: Mapping[str, Any] = field(default_factory=dict)  # how clients verify its certificate (ivv.rpc.tls)
    faults: Mapping[str, Any] = field(default_factory=dict)  # the stack's fault knobs on this device (self-tests)
    destructive: bool | None = None   # inventory `destructive`: None when it does not say (ivv.resilience.power)

    kind: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    shared: ClassVar[bool] = False   # other runs (other runner hosts) may use it too: a run takes a lease

    def __post_init__(self) -> None:
        """Set-up a kind needs once created (a subclass overrides; the base needs none)."""

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @classmethod
    def inventory_entry(cls, entry: dict[str, Any], defaults: Mapping[str, Any], place) -> dict[str, Any]:
        """This kind's options from an inventory entry: defaults applied, files it names resolved beside the
        inventory (`place`: ivv.config.inventory.Place); InventoryError naming file, line and field."""
        entry.setdefault("environment", defaults.get("environment", "staging"))
        return entry

    # --- commands and files ---------------------------------------------------------------------
    def run(self, cmd: str, timeout: float = 60, check: bool = False) -> CommandResult:
        raise CapabilityMissing(f"target {self.name} ({self.kind}) cannot run commands")

    def put(self, local_path: str | Path, remote_path: str, mode: int | None = None, sudo: bool = False) -> None:
        raise CapabilityMissing(f"target {self.name} ({self.kind}) cannot receive files")

    def get(self, remote_path: str, local_path: str | Path, sudo: bool = False) -> None:
        raise CapabilityMissing(f"target {self.name} ({self.kind}) cannot send files")

    def facts(self) -> dict[str, Any]:
        """hostname, model, cpu, cores, memory_mb, kernel, os_release, python, video0 (+ kind specifics)."""
        result = self.run(FACTS_SCRIPT, timeout=30, check=True)
        facts = parse_facts(result.stdout)
        facts.update(name=self.name, kind=self.kind, environment=self.environment)
        return facts

    def inspect(self) -> dict[str, Any]:
        """Facts for `ivv device facts` (a kind may reuse a device that is already running)."""
        return self.facts()

    def address(self, port: int) -> tuple[str, int]:
        """Where the harness reaches `port` of the device."""
        raise CapabilityMissing(f"target {self.name} ({self.kind}) has no network address")

    def listeners(self) -> tuple[list, str]:
        """Every listening TCP socket with the process holding it (`ss -ltnp` as root), and the raw text."""
        from ivv.targets.facts import parse_ss

        self.require("shell")
        result = self.run("sudo -n ss -ltnpH 2>/dev/null || ss -ltnpH", timeout=20)
        return parse_ss(result.stdout), result.stdout

    def processes(self) -> tuple[dict[int, int], dict[int, str]]:
        """The process tree (pid -> ppid) and each process's user."""
        from ivv.targets.facts import parse_ps

        self.require("shell")
        return parse_ps(self.run("ps -e -o pid=,ppid=,user=", timeout=20).stdout)

    # --- power, reset, link ---------------------------------------------------------------------
    def power_cycle(self) -> None:
        raise CapabilityMissing(f"target {self.name} ({self.kind}) cannot cycle power")

    def reset(self) -> None:
        raise CapabilityMissing(f"target {self.name} ({self.kind}) cannot be reset")

    def link(self, up: bool) -> None:
        raise CapabilityMissing(f"target {self.name} ({self.kind}) cannot switch its network link")

    def require(self, *capabilities: str) -> None:
        """Raise CapabilityMissing unless the target has every capability named."""
        missing = sorted(set(capabilities) - self.capabilities)
        if missing:
            raise CapabilityMissing(f"target {self.name} ({self.kind}) lacks {', '.join(missing)}")

    # --- testinfra and lifecycle ----------------------------------------------------------------
    def testinfra_host(self):
        raise CapabilityMissing(f"target {self.name} ({self.kind}) has no testinfra backend")

    def close(self) -> None:
        """Release connections (and, for the virtual device, the VM)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _check(result: CommandResult, check: bool, where: str) -> CommandResult:
        if check and not result.succeeded:
            raise TargetError(f"{where}: `{_short(result.command)}` exited {result.exit_status}: "
                              f"{(result.stderr or result.stdout).strip()[-500:]}")
        return result


def _short(command: str, limit: int = 120) -> str:
    one_line = " ".join(command.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def quote(path: str | Path) -> str:
    return shlex.quote(str(path))


# --- registry ---------------------------------------------------------------------------------------
_KINDS: dict[str, type[Target]] = {}
_BUILTIN_MODULES = ("ivv.targets.local", "ivv.targets.ssh", "ivv.targets.qemu", "ivv.targets.endpoint")


def register_target(kind: str) -> Callable[[type[Target]], type[Target]]:
    """Class decorator: make a Target subclass available under the inventory kind name."""

    def decorate(cls: type[Target]) -> type[Target]:
        known = _KINDS.get(kind)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"target kind {kind!r} is already registered by {known.__module__}.{known.__qualname__}")
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return decorate


def target_kinds() -> dict[str, type[Target]]:
    """Every registered kind (the built-in modules are imported on first use)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return dict(_KINDS)


def create_target(kind: str, name: str, **options: Any) -> Target:
    """Instantiate a target of a registered kind."""
    kinds = target_kinds()
    if kind not in kinds:
        raise InventoryError(f"target {name}: unknown kind '{kind}' (known: {', '.join(sorted(kinds))})")
    return kinds[kind](name=name, **options)
