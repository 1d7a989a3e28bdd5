"""The Stack interface: what runs on a target, made of components, reached through one API.

A stack says what it can do through `capabilities` (deploy, control a component, remove the camera,
sample resources, read the journal, run a shell command, set fault knobs, list its listening sockets,
watch files). Asking for something outside them raises `CapabilityMissing` naming the stack and the
capability, which suites record as NOT VERIFIED with that reason: code asks "can this stack stop its
media component?", never which kind of target or stack it has.

Kinds (one module each): `LocalStack` (a process tree ivv starts on this machine), `DeviceStack` (ivv
deployed it on a target with a shell), `EndpointStack` (a service ivv did not deploy). Where a stack
answers is worked out once here, from the profile and `target.address(port)`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ivv.config.profile import Profile
from ivv.errors import CapabilityMissing, StackError
from ivv.health import readiness
from ivv.poll import WaitResult
from ivv.stack import components
from ivv.stack.api import ApiEndpoint
from ivv.stack.components import Component, ComponentState


class Capability(StrEnum):
    DEPLOY = "deploy"          # install, upgrade, rollback, uninstall with the profile's commands
    CONTROL = "control"        # stop, start, restart a component
    CAMERA = "camera"          # make the camera disappear and come back
    RESOURCES = "resources"    # sample a component's process (RSS, CPU, fds)
    JOURNAL = "journal"        # the device journal of a time window
    SHELL = "shell"            # run a command where the stack runs
    FAULTS = "faults"          # set the stack's fault knobs
    LISTENERS = "listeners"    # the listening sockets and process users of its components
    FILES = "files"            # files outside the data folders, to spot writes it must not make


class Status(StrEnum):
    """What the harness last saw of the stack; operations check it so impossible moves raise."""

    UNKNOWN = "unknown"
    ABSENT = "absent"
    INSTALLED = "installed"
    READY = "ready"


# Which status an operation needs first, and which it leaves when it succeeds.
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "install": (frozenset(Status), Status.READY),
    "upgrade": (frozenset({Status.UNKNOWN, Status.INSTALLED, Status.READY}), Status.READY),
    "rollback": (frozenset({Status.UNKNOWN, Status.INSTALLED, Status.READY}), Status.READY),
    "uninstall": (frozenset(Status), Status.ABSENT),
    "purge": (frozenset(Status), Status.ABSENT),
}


@dataclass(frozen=True)
class Listeners:
    """The listening sockets of a stack's processes, their users, and how they were read."""

    sockets: list
    users: dict[int, str]
    source: str
    raw: str = ""
    judge_users: bool = True       # False for a process tree the harness itself runs


class Stack:
    """Base of every stack kind. Subclasses narrow `capabilities` and implement what those allow."""

    kind: ClassVar[str] = "stack"

    def __init__(self, target: Any, profile: Profile, environment: str):
        self.target = target
        self.profile = profile
        self.environment = environment
        self.status = Status.UNKNOWN
        self.history: list[tuple[str, str, str]] = []

    @property
    def capabilities(self) -> frozenset[str]:
        """What this stack can do here (a kind's own abilities narrowed by its target and profile)."""
        return frozenset()

    def __str__(self) -> str:
        return f"{self.profile.name} on {self.target.name} ({self.kind} stack)"

    def require(self, *capabilities: str) -> None:
        missing = sorted(set(capabilities) - set(self.capabilities))
        if missing:
            raise CapabilityMissing(f"{self}: cannot {', '.join(missing)}")

    def can(self, *capabilities: str) -> bool:
        return set(capabilities) <= set(self.capabilities)

    def move(self, operation: str, succeeded: bool) -> None:
        """Check that `operation` is possible from the current status and record the transition."""
        allowed, after = TRANSITIONS[operation]
        if self.status not in allowed:
            raise StackError(f"{self}: cannot {operation} while {self.status.value}")
        before = self.status
        self.status = after if succeeded else Status.UNKNOWN
        self.history.append((operation, before.value, self.status.value))

    # -- where it answers ---------------------------------------------------------------------
    @property
    def components(self) -> list[Component]:
        return components.from_profile(self.profile)

    def component(self, name: str) -> Component:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise CapabilityMissing(f"{self}: the profile names no {name} component")

    def port(self, section: str) -> int:
        """The port the stack listens on for a profile section (rpc, health, media)."""
        return int(self.profile.data[section]["port"])

    def address(self, section: str) -> tuple[str, int]:
        return self.target.address(self.port(section))

    @property
    def api(self) -> ApiEndpoint:
        host, port = self.address("rpc")
        return ApiEndpoint.from_profile(self.profile, host, port, self.environment)

    @property
    def rpc_url(self) -> str:
        return self.api.url

    def health_url(self, name: str | None = None) -> str:
        host, port = self.address("health")
        return self.profile.health_url(name or self.profile.ready_endpoint, host, port)

    @property
    def files_base(self) -> str:
        host, port = self.address("rpc")
        return self.profile.files_base(host, port, self.environment)

    @property
    def data_dirs(self) -> list[str]:
        return list(self.profile.data_dirs)

    def binds(self, environment: str | None = None) -> dict[int, str]:
        """Listening port -> the address the profile says it binds to (rpc, health, media)."""
        environment = environment or self.environment
        out = {}
        for section in ("rpc", "health", "media"):
            spec = self.profile.data.get(section) or {}
            address = self.profile.bind(section, environment) if section != "media" else spec.get("bind")
            if spec.get("port") and address:
                out[self.port(section)] = address
        return out

    # -- health ---------------------------------------------------------------------------------
    def ready(self, timeout: float = 3.0) -> readiness.HealthAnswer:
        """The readiness endpoint's answer, judged by the one readiness rule."""
        return readiness.probe(self.health_url(), self.profile.health_endpoint(self.profile.ready_endpoint),
                               timeout=timeout)

    def wait_ready(self, timeout_s: float, interval_s: float = 0.5) -> WaitResult:
        """Wait until ready by code AND body; when it never comes, check the device itself still answers
        (a dead device raises TargetUnreachable, so the criterion is NOT VERIFIED rather than FAIL)."""
        waited = readiness.wait_ready(self.health_url(), timeout_s, interval_s,
                                      spec=self.profile.health_endpoint(self.profile.ready_endpoint))
        if not waited.reached:
            self.reachable()
        return waited

    def ensure_ready(self, timeout_s: float) -> float:
        """Seconds until ready; StackError naming the last answer when it never gets there."""
        waited = self.wait_ready(timeout_s)
        if not waited.reached:
            raise StackError(f"{self}: not ready after {timeout_s:.0f} s (last: {waited.last})")
        return waited.elapsed_s

    def client(self, role: str | None = None, timeout: float = 10.0):
        """A connected API client, logged in as `role` (None: not logged in)."""
        from ivv.rpc.client import RpcErrorResponse

        api = self.api
        client = api.client(timeout=timeout)
        if role is not None:
            reply = client.authenticate(self.credentials(api_keys=False).token(role), method=api.login_method,
                                        param=api.login_param)
            if not reply.ok:
                client.close()
                raise RpcErrorResponse(api.login_method, reply.error or {})
        return client

    def alive(self) -> bool:
        """Does the health server answer at all (any code)?"""
        return self.ready(timeout=2.0).answered

    def reachable(self) -> None:
        """Raise TargetUnreachable when the device itself no longer answers (no-op without a shell)."""
        if "shell" in self.target.capabilities:
            self.target.run("true", timeout=30)

    # -- credentials ----------------------------------------------------------------------------
    def credentials(self, api_keys: bool = True):
        raise NotImplementedError

    # -- capabilities (each kind implements what it has) ----------------------------------------
    def control(self, component: str, action: str):
        """Stop, start or restart a component; returns a CommandResult."""
        self.require(Capability.CONTROL)
        raise NotImplementedError

    def restart(self, timeout_s: float = 60.0) -> None:
        """Restart the service component and wait until it is ready again (a crashed service included)."""
        self.require(Capability.CONTROL)
        self.control("service", "restart")
        waited = self.wait_ready(timeout_s)
        if not waited.reached:
            raise StackError(f"{self}: not ready {timeout_s:.0f} s after a restart (last: {waited.last})")

    @property
    def camera_device(self) -> str:
        """The camera's device path as the service sees it on its target."""
        return self.profile.camera.get("device", "/dev/video0")

    def camera(self, present: bool):
        """Remove (False) or restore (True) the camera with the profile's commands."""
        self.require(Capability.CAMERA)
        verb = "restore" if present else "remove"
        return self.run(self.profile.camera[verb], 120)

    def component_state(self, name: str) -> ComponentState:
        raise CapabilityMissing(f"{self}: cannot observe its components")

    def components_view(self) -> dict:
        """What the device says about every component: {components: {name: running}, all_running}."""
        states = {c.name: self.component_state(c.name).running for c in self.components}
        return {"components": states, "all_running": bool(states) and all(states.values())}

    def process(self, component: str = "service"):
        """How to find the component's process for resource sampling: (target, ProcessSelector)."""
        raise CapabilityMissing(f"{self}: cannot sample the resources of its processes")

    def listeners(self) -> Listeners:
        raise CapabilityMissing(f"{self}: cannot list its listening sockets")

    def device_time(self) -> float | None:
        """The device's own clock (epoch seconds); None where the stack cannot read it."""
        return None

    def journal(self, since: float, until: float | None = None) -> str:
        """The device journal between two device-clock times (epoch seconds)."""
        raise CapabilityMissing(f"{self}: has no journal to read")

    def run(self, command: str, timeout: float = 300):
        self.require(Capability.SHELL)
        return self.target.run(command, timeout=timeout)

    def set_faults(self, knobs: Mapping[str, Any]) -> None:
        raise CapabilityMissing(f"{self}: has no fault knobs to set")

    def serving_tls(self, folder):
        """Context manager: the API served with TLS for the transport check (ivv.stack.transport)."""
        from ivv.stack import transport

        return transport.planned(self, folder)

    def fs_snapshot(self, canary: str) -> dict[str, str]:
        """Files outside the data folders (path -> size and mtime) and files named `canary*` in /tmp, to
        spot writes the service must not make."""
        raise CapabilityMissing(f"{self}: cannot watch its files")

    def canaries(self, canary: str) -> dict[str, str]:
        """Files named `canary*` (fuzzing's traversal canaries) next to and above the data folders and in
        /tmp: path -> mtime."""
        raise CapabilityMissing(f"{self}: cannot watch its files")


def quote(value: object) -> str:
    return shlex.quote(str(value))


def open_client(stack: Stack, role: str | None = None, timeout: float = 10.0):
    """`stack.client(role)`: a connected API client of `stack`, logged in as `role` (None: not logged in)."""
    return stack.client(role, timeout)
