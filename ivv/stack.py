"""The reference stack off-device: run it as a local process tree, and build its release archives.

`start_local(profile, workdir, faults)` starts the profile's `local` commands (the media component and
the service) on free loopback ports with a fresh JWT secret and per-role API keys, and waits until
/health/ready says ready. `build_releases(...)` writes byte-reproducible release archives with an
offline wheelhouse (see `ivv stack build`).
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
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from ivv import redact
from ivv.deploy import render
from ivv.errors import ProfileError, TargetError
from ivv.profile import Profile

ROLES = ("viewer", "operator", "admin")


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


@dataclass
class LocalStack:
    """A running local stack: where it listens, how to log in, and control of its processes."""

    profile: Profile
    workdir: Path
    rpc_port: int
    health_port: int
    media_port: int
    jwt_secret: str
    faults: dict = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    revoked_api_key: str | None = None
    media: LocalProcess | None = None
    service: LocalProcess | None = None
    host: str = "127.0.0.1"
    environment: str = "local"

    @property
    def rpc_url(self) -> str:
        return self.profile.rpc_url(self.host, self.rpc_port, self.environment)

    def health_url(self, name: str = "ready") -> str:
        return self.profile.health_url(name, self.host, self.health_port)

    @property
    def files_base(self) -> str:
        return self.profile.files_base(self.host, self.rpc_port, self.environment)

    @property
    def data_dirs(self) -> list[Path]:
        return [self.workdir / "recordings", self.workdir / "snapshots"]

    @property
    def log_file(self) -> Path:
        return self.workdir / "logs" / "camera-service.log"

    def credentials(self):
        """ivv.auth.Credentials for this stack (registers every secret for redaction)."""
        from ivv.auth import Credentials
        return Credentials(self.jwt_secret, dict(self.api_keys), self.revoked_api_key)

    def ready(self, timeout: float = 2.0) -> tuple[int | None, dict | None]:
        try:
            answer = requests.get(self.health_url(self.profile.ready_endpoint), timeout=timeout)
            return answer.status_code, answer.json()
        except (requests.RequestException, ValueError):
            return None, None

    def wait_ready(self, timeout: float = 20.0) -> float:
        """Seconds until the readiness endpoint says ready; TargetError (with the log tail) if never."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            code, body = self.ready()
            if code == 200 and body and body.get("status") == "ready":
                return time.monotonic() - started
            if self.service and not self.service.running:
                break
            time.sleep(0.1)
        raise TargetError(f"local stack in {self.workdir} not ready after {time.monotonic() - started:.1f} s; "
                          f"service log tail:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        text = ""
        for proc in (self.service, self.media):
            if proc and proc.log.exists():
                text += f"--- {proc.log.name}\n" + "\n".join(proc.log.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return redact.redact(text)

    def _env(self) -> dict:
        local = self.profile.local
        env = dict(os.environ)
        src = str(self.profile.resolve(local.get("pythonpath", ".")))
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env[local.get("secret_env", "JWT_SECRET")] = self.jwt_secret
        for key in [k for k in env if k.startswith(self.profile.faults["prefix"])] if self.profile.faults else []:
            del env[key]
        if self.faults:
            env.update(self.profile.fault_env(self.faults))
        return env

    def _values(self, **extra) -> dict:
        return {"python": sys.executable, "workdir": str(self.workdir), "rpc_port": self.rpc_port,
                "health_port": self.health_port, "media_port": self.media_port, **extra}

    def _argv(self, key: str, **extra) -> list[str]:
        return shlex.split(render(self.profile.local[key], self._values(**extra), where=f"profile local.{key}"))

    def run_tool(self, key: str, **extra) -> str:
        """Run one of the profile's local helper commands (API keys); returns stdout."""
        proc = subprocess.run(self._argv(key, **extra), cwd=self.profile.path.parent, env=self._env(),
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise TargetError(f"local.{key} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
        return proc.stdout

    def start_media(self) -> None:
        if self.media is None:
            self.media = LocalProcess("media", self._argv("media"), self.workdir / "media.log")
        if not self.media.running:
            self.media.start(self.profile.path.parent, self._env())

    def stop_media(self) -> None:
        if self.media:
            self.media.stop()

    def start_service(self) -> None:
        if self.service is None:
            self.service = LocalProcess("service", self._argv("service"), self.workdir / "service.log")
        if not self.service.running:
            self.service.start(self.profile.path.parent, self._env())

    def stop_service(self) -> int | None:
        return self.service.stop() if self.service else None

    def restart(self, faults: dict | None = None, timeout: float = 20.0) -> None:
        """Restart the service (with new fault knobs when given) and wait for ready."""
        if faults is not None:
            self.faults = dict(faults)
        self.stop_service()
        self.start_service()
        self.wait_for_port(timeout)

    def wait_for_port(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.service and not self.service.running:
                raise TargetError(f"local service exited with {self.service.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.health_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise TargetError(f"local service did not listen on {self.health_port} within {timeout} s")

    def stop(self) -> None:
        for proc in (self.service, self.media):
            if proc:
                proc.stop()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def prepare_local(profile: Profile, workdir: Path, faults: dict | None = None) -> LocalStack:
    """Write the overlay and API keys of a local stack in `workdir` (nothing started yet)."""
    if profile.local is None:
        raise ProfileError(f"{profile.path}: no `local` section: this stack cannot run on the local target")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    secret = secrets.token_urlsafe(48)
    redact.register(secret)
    stack = LocalStack(profile, workdir, free_port(), free_port(), free_port(), secret, dict(faults or {}))
    overlay = _fill(profile.local.get("overlay", {}), stack._values())
    (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay, sort_keys=True))
    if profile.local.get("api_key_add"):
        for role in ROLES:
            stack.api_keys[role] = json.loads(stack.run_tool("api_key_add", role=role))["key"]
            redact.register(stack.api_keys[role])
        revoked = json.loads(stack.run_tool("api_key_add", role="admin"))
        redact.register(revoked["key"])
        stack.run_tool("api_key_revoke", id=revoked["id"])
        stack.revoked_api_key = revoked["key"]
    return stack


def start_local(profile: Profile, workdir: Path, faults: dict | None = None, ready_timeout: float = 30.0,
                wait_ready: bool = True) -> LocalStack:
    """Start the stack as local processes; with `wait_ready`, return only once it says ready."""
    stack = prepare_local(profile, workdir, faults)
    try:
        stack.start_media()
        stack.start_service()
        if wait_ready:
            stack.wait_ready(ready_timeout)
        else:
            stack.wait_for_port(ready_timeout)
    except BaseException:
        stack.stop()
        raise
    return stack
