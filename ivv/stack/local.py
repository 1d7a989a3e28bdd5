"""The stack as a local process tree: the profile's `local` commands on free loopback ports.

`start_local(profile, workdir, faults)` starts the media component and the service with a fresh JWT
secret and per-role API keys, and waits until the readiness endpoint says ready. A `LocalStack` can
control its processes, sample them, list their sockets and set fault knobs (environment variables, the
service restarted); it cannot deploy (there is nothing to install) nor take a camera away.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

from ivv.config.profile import Profile
from ivv.errors import CapabilityMissing, ProfileError, StackError, TargetError
from ivv.evidence import redact
from ivv.load.resources import ProcessSelector
from ivv.ops.commands import render
from ivv.poll import wait_for
from ivv.rpc.auth import Credentials
from ivv.stack import credentials as creds
from ivv.stack.base import Capability, Listeners, Stack
from ivv.stack.components import Component, ComponentState
from ivv.targets.facts import descendants
from ivv.targets.local import LocalTarget

COMPONENTS = ("media", "service")      # started in this order; `media` only where the profile has one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fill(value, values: dict):
    """Placeholders filled in every string of a nested overlay; all-digit results become integers."""
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str):
        text = render(value, values, where="profile local.overlay")
        return int(text) if text.isdigit() else text
    return value


@dataclass
class LocalProcess:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen | None = None

    def start(self, cwd: Path, env: dict) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM the process group, SIGKILL after `timeout`; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


class LocalStack(Stack):
    """A running local stack: its own ports, its credentials, and control of its processes."""

    kind = "local"

    def __init__(self, profile: Profile, workdir: Path, faults: Mapping[str, Any] | None = None):
        super().__init__(LocalTarget("local", environment="local"), profile, "local")
        self.workdir = Path(workdir)
        self.host = "127.0.0.1"
        self.ports = {"rpc": free_port(), "health": free_port(), "media": free_port()}
        if profile.health.get("port") == profile.rpc.get("port"):     # one server for API and health
            self.ports["health"] = self.ports["rpc"]
        self.component_names = [name for name in COMPONENTS if name in (profile.local or {})]
        self.jwt_secret = secrets.token_urlsafe(48)
        redact.register(self.jwt_secret)
        self.faults = dict(faults or {})
        self.api_keys: dict[str, str] = {}
        self.revoked_api_key: str | None = None
        self.processes: dict[str, LocalProcess] = {}

    def __repr__(self) -> str:  # no secret in a traceback
        return f"LocalStack({self.workdir}, ports={self.ports})"

    @property
    def capabilities(self) -> frozenset[str]:
        caps = {Capability.CONTROL, Capability.RESOURCES, Capability.LISTENERS, Capability.FAULTS, Capability.FILES}
        if (self.profile.local or {}).get("camera"):
            caps.add(Capability.CAMERA)
        return frozenset(caps)

    @property
    def camera_device(self) -> str:
        local = (self.profile.local or {}).get("camera")
        return render(local["device"], self._values(), where="profile local.camera.device") if local \
            else super().camera_device

    def camera(self, present: bool):
        """The profile's stand-in camera (`local.camera`) taken away or brought back."""
        self.require(Capability.CAMERA)
        verb = "restore" if present else "remove"
        command = render(self.profile.local["camera"][verb], self._values(), where=f"profile local.camera.{verb}")
        return self.target.run(f"cd {shlex.quote(str(self.profile.path.parent))} && {command}", timeout=60)

    @property
    def components(self) -> list[Component]:
        return [Component(name, "process") for name in self.component_names]

    def port(self, section: str) -> int:
        if section not in self.ports:
            raise ProfileError(f"{self.profile.path}: the local stack has no {section} port")
        return self.ports[section]

    @property
    def rpc_port(self) -> int:
        return self.ports["rpc"]

    @property
    def health_port(self) -> int:
        return self.ports["health"]

    @property
    def media_port(self) -> int:
        return self.ports["media"]

    @property
    def service(self) -> LocalProcess | None:
        return self.processes.get("service")

    @property
    def data_dirs(self) -> list[str]:
        return [str(self.workdir / "recordings"), str(self.workdir / "snapshots")]

    @property
    def log_file(self) -> Path:
        return self.workdir / "logs" / f"{self.profile.name}.log"

    def credentials(self, api_keys: bool = True) -> Credentials:
        """ivv.rpc.auth.Credentials for this stack (registers every secret for redaction)."""
        return Credentials(self.jwt_secret, dict(self.api_keys), self.revoked_api_key,
                           algorithm=creds.algorithm(self.profile), roles=creds.roles(self.profile))

    def reachable(self) -> None:
        """This machine always answers; a service that died is a finding, not a dead device."""

    # -- processes ----------------------------------------------------------------------------
    def _values(self, **extra) -> dict:
        return {"python": sys.executable, "workdir": str(self.workdir), "rpc_port": self.rpc_port,
                "health_port": self.health_port, "media_port": self.media_port, **extra}

    def _argv(self, key: str, **extra) -> list[str]:
        return shlex.split(render(self.profile.local[key], self._values(**extra), where=f"profile local.{key}"))

    def _env(self) -> dict:
        local = self.profile.local
        env = dict(os.environ)
        src = str(self.profile.resolve(local.get("pythonpath", ".")))
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env[local.get("secret_env", "JWT_SECRET")] = self.jwt_secret
        prefix = (self.profile.faults or {}).get("prefix")
        for key in [k for k in env if prefix and k.startswith(prefix)]:
            del env[key]
        if self.faults:
            env.update(self.profile.fault_env(self.faults))
        return env

    def run_tool(self, key: str, **extra) -> str:
        """Run one of the profile's local helper commands (API keys); returns stdout."""
        proc = subprocess.run(self._argv(key, **extra), cwd=self.profile.path.parent, env=self._env(),
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise TargetError(f"local.{key} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
        return proc.stdout

    def start_component(self, name: str) -> None:
        if name not in self.processes:
            self.processes[name] = LocalProcess(name, self._argv(name), self.workdir / f"{name}.log")
        if not self.processes[name].running:
            self.processes[name].start(self.profile.path.parent, self._env())

    def stop_component(self, name: str) -> int | None:
        proc = self.processes.get(name)
        return proc.stop() if proc else None

    def control(self, component: str, action: str):
        """Stop, start or restart one of the process tree's components."""
        if component not in self.component_names or action not in ("stop", "start", "restart"):
            raise CapabilityMissing(f"{self}: cannot {action} {component}")
        result = _Done(f"{action} {component}")
        if action in ("stop", "restart"):
            self.stop_component(component)
        if action in ("start", "restart"):
            self.start_component(component)
            if component == "service":
                self.wait_for_port(20)
        return result

    def restart(self, timeout_s: float = 20.0, faults: Mapping[str, Any] | None = None) -> None:
        """Restart the service (with new fault knobs when given) and wait until it is ready again."""
        if faults is not None:
            self.faults = dict(faults)
        self.control("service", "restart")
        self.ensure_ready(timeout_s)

    def set_faults(self, knobs: Mapping[str, Any]) -> None:
        self.restart(30, faults=knobs)

    def component_state(self, name: str) -> ComponentState:
        proc = self.processes.get(name)
        running = proc is not None and proc.running
        return ComponentState(name, running, proc.proc.pid if running else None)

    def process(self, component: str = "service"):
        proc = self.processes.get(component)
        if proc is None or proc.proc is None:
            raise CapabilityMissing(f"{self}: its {component} process was never started")
        return self.target, ProcessSelector(pid=proc.proc.pid)

    def _pids(self) -> set[int]:
        roots = {p.proc.pid for p in self.processes.values() if p.running}
        tree = {proc.pid: proc.ppid() for proc in psutil.process_iter()}
        return descendants(tree, roots)

    def listeners(self) -> Listeners:
        pids = self._pids()
        every, raw = self.target.listeners()
        _tree, users = self.target.processes()
        return Listeners([s for s in every if s.pid in pids], {p: u for p, u in users.items() if p in pids},
                         "psutil", raw, judge_users=False)

    def fs_snapshot(self, canary: str) -> dict[str, str]:
        out = {str(path): "present" for path in Path("/tmp").glob(canary + "*")}
        skip = [Path(d).resolve() for d in self.data_dirs] + [self.workdir / "logs"]
        for path in self.workdir.rglob("*"):
            if path.is_file() and not any(path.resolve().is_relative_to(s) for s in skip) and path.suffix != ".log":
                st = path.stat()
                out[str(path)] = f"{st.st_size} {st.st_mtime_ns}"
        return out

    def canaries(self, canary: str) -> dict[str, str]:
        out = {}
        places = {Path("/tmp")} | {p for d in self.data_dirs for p in (Path(d).parent, Path(d).parent.parent)}
        for place in places:
            for path in place.glob(canary + "*"):
                out[str(path)] = str(path.stat().st_mtime_ns) if path.exists() else "present"
        return out

    def serving_tls(self, folder):
        """A copy of this process tree with TLS on and a lab-issued certificate (ivv.stack.transport)."""
        from ivv.stack import transport

        return transport.local_copy(self, folder)

    # -- readiness ----------------------------------------------------------------------------
    def ensure_ready(self, timeout_s: float = 20.0) -> float:
        """Seconds until ready; StackError with the log tail when the service exits or never gets there."""
        waited = wait_for(lambda: self.ready(timeout=2.0).is_ready or not self._service_running(), timeout_s, 0.1)
        if not self._service_running():
            raise StackError(f"local service exited with {self.service.proc.returncode}:\n{self.log_tail()}")
        if not waited.reached or not self.ready(timeout=2.0).is_ready:
            raise StackError(f"local stack in {self.workdir} not ready after {waited.elapsed_s:.1f} s; "
                             f"service log tail:\n{self.log_tail()}")
        return waited.elapsed_s

    def _service_running(self) -> bool:
        return self.service is not None and self.service.running

    def wait_for_port(self, timeout_s: float = 20.0) -> None:
        """Until the health port accepts connections; StackError when the service exits first."""
        def listening() -> bool:
            if not self._service_running():
                return True
            try:
                with socket.create_connection((self.host, self.health_port), timeout=0.5):
                    return True
            except OSError:
                return False
        waited = wait_for(listening, timeout_s, 0.1)
        if not self._service_running():
            raise StackError(f"local service exited with {self.service.proc.returncode}:\n{self.log_tail()}")
        if not waited.reached:
            raise StackError(f"local service did not listen on {self.health_port} within {timeout_s} s")

    def log_tail(self, lines: int = 20) -> str:
        text = ""
        for proc in self.processes.values():
            if proc.log.exists():
                tail = proc.log.read_text(errors="replace").splitlines()[-lines:]
                text += f"--- {proc.log.name}\n" + "\n".join(tail) + "\n"
        return redact.redact(text)

    def stop(self) -> None:
        for name in reversed(self.component_names):
            self.stop_component(name)

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass(frozen=True)
class _Done:
    """The CommandResult shape of a control action done through the process objects."""

    command: str
    exit_status: int = 0
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0

    @property
    def succeeded(self) -> bool:
        return True


def prepare_local(profile: Profile, workdir: Path, faults: dict | None = None) -> LocalStack:
    """Write the overlay and API keys of a local stack in `workdir` (nothing started yet)."""
    if profile.local is None:
        raise ProfileError(f"{profile.path}: no `local` section: this stack cannot run on the local target")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    stack = LocalStack(profile, workdir, faults)
    if profile.local.get("camera"):
        stack.camera(present=True)
    overlay = _fill(profile.local.get("overlay", {}), stack._values())
    (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay, sort_keys=True))
    if profile.local.get("api_key_add"):
        for role in creds.roles(profile):
            stack.api_keys[role] = json.loads(stack.run_tool("api_key_add", role=role))["key"]
            redact.register(stack.api_keys[role])
        revoked = json.loads(stack.run_tool("api_key_add", role=creds.roles(profile)[-1]))
        redact.register(revoked["key"])
        stack.run_tool("api_key_revoke", id=revoked["id"])
        stack.revoked_api_key = revoked["key"]
    return stack


def enable_tls(stack: LocalStack, cert: Path, key: Path) -> None:
    """Turn TLS on in a prepared local stack's overlay (before it starts): the API serves wss://."""
    overlay_file = stack.workdir / "overlay.yaml"
    overlay = yaml.safe_load(overlay_file.read_text()) or {}
    overlay.setdefault("server", {})["tls"] = {"enabled": True, "cert": str(cert), "key": str(key)}
    overlay_file.write_text(yaml.safe_dump(overlay, sort_keys=True))


def start_local(profile: Profile, workdir: Path, faults: dict | None = None, ready_timeout: float = 30.0,
                wait_ready: bool = True) -> LocalStack:
    """Start the stack as local processes; with `wait_ready`, return only once it says ready."""
    stack = prepare_local(profile, workdir, faults)
    try:
        for name in stack.component_names:
            stack.start_component(name)
        if wait_ready:
            stack.ensure_ready(ready_timeout)
        else:
            stack.wait_for_port(ready_timeout)
    except BaseException:
        stack.stop()
        raise
    return stack
