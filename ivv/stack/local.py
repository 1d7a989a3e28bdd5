"""The reference stack off-device: run it as a local process tree, and build its release archives.

`start_local(profile, workdir, faults)` starts the profile's `local` commands (the media component and
the service) on free loopback ports with a fresh JWT secret and per-role API keys, and waits until
/health/ready says ready. `build_releases(...)` writes byte-reproducible release archives with an
offline wheelhouse (see `ivv stack build`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from ivv.config.profile import Profile
from ivv.errors import ProfileError, TargetError
from ivv.evidence import redact
from ivv.ops.deployment import installed_version, operation_commands, render
from ivv.rpc.auth import Credentials
from ivv.rpc.client import RpcClient, RpcErrorResponse
from ivv.stack.addressing import TargetAddressed

ROLES = ("viewer", "operator", "admin")


def open_client(stack, role: str | None = None, timeout: float = 10.0):
    """An ivv.rpc.client.RpcClient connected to `stack` (LocalStack or DeviceStack), authenticated as `role`."""
    client = RpcClient(stack.rpc_url, verify_tls=False, timeout=timeout).connect()
    if role is not None:
        reply = client.authenticate(stack.credentials(api_keys=False).token(role))
        if not reply.ok:
            client.close()
            raise RpcErrorResponse("authenticate", reply.error or {})
    return client


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
    jwt_secret: str = field(repr=False)  # never in a traceback's repr
    faults: dict = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    revoked_api_key: str | None = field(default=None, repr=False)
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

    def credentials(self, api_keys: bool = True):
        """ivv.rpc.auth.Credentials for this stack (registers every secret for redaction)."""
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
                raise TargetError(f"local service exited with {self.service.proc.returncode}:\n{self.log_tail()}")
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


# -- release archives ------------------------------------------------------------------------------
FIXED_MTIME = 1_700_000_000  # 2023-11-14; used unless SOURCE_DATE_EPOCH says otherwise
WHEEL_TARGET = ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
                "--abi", "abi3", "--abi", "none", "--platform", "manylinux2014_x86_64",
                "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64",
                "--platform", "any"]
RELEASE_PARTS = ("src", "config", "scripts", "systemd", "logrotate", "bin", "README.md", "requirements.txt")


def stack_dir(profile: Profile) -> Path:
    return profile.path.parent


def release_manifests(profile: Profile) -> dict[str, dict]:
    """version -> release manifest (releases/<version>.yaml of the stack)."""
    manifests = {}
    for path in sorted((stack_dir(profile) / "releases").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if "version" not in data:
            raise ProfileError(f"{path}: release manifest has no `version`")
        manifests[str(data["version"])] = data
    return manifests


def wheelhouse(requirements: Path, cache_root: Path) -> list[Path]:
    """The wheels of `requirements` for the device (CPython 3.11, manylinux x86_64), downloaded once.

    The cache folder is keyed by the requirements file's sha256, so the same pins always give the same
    wheel files (and the same archive bytes) without asking the registry again.
    """
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    cache = cache_root / key
    done = cache / ".complete"
    if not done.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               *WHEEL_TARGET, "-r", str(requirements), "-d", str(cache)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise TargetError(f"pip download for {requirements} failed: {proc.stderr.strip()[-800:]}")
        done.write_text("ok\n")
    wheels = sorted(cache.glob("*.whl"))
    if not wheels:
        raise TargetError(f"wheelhouse {cache} is empty")
    return wheels


def _release_files(profile: Profile, version: str, manifest: dict, wheels: list[Path]) -> dict[str, tuple[bytes, int]]:
    """archive path -> (bytes, mode) of one release."""
    root = stack_dir(profile)
    top = f"{profile.name}-{version}"
    files: dict[str, tuple[bytes, int]] = {}
    for part in RELEASE_PARTS:
        base = root / part
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(root).as_posix()
            if "__pycache__" in rel or rel.endswith((".pyc", "VERSION")):
                continue
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            files[f"{top}/{rel}"] = (path.read_bytes(), mode)
    stamp = f"{version}\n".encode()
    files[f"{top}/VERSION"] = (stamp, 0o644)
    files[f"{top}/src/camera_service/VERSION"] = (stamp, 0o644)
    release_config = manifest.get("config") or {}
    header = f"# Release {version}: keys that differ from base.yaml (from releases/{version}.yaml).\n"
    files[f"{top}/config/release.yaml"] = ((header + yaml.safe_dump(release_config, sort_keys=True)).encode(), 0o644)
    for wheel in wheels:
        files[f"{top}/wheelhouse/{wheel.name}"] = (wheel.read_bytes(), 0o644)
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name.split('/', 1)[1]}\n"
                   for name, (data, _) in sorted(files.items()))
    files[f"{top}/SHA256SUMS"] = (sums.encode(), 0o644)
    return files


def write_archive(files: dict[str, tuple[bytes, int]], out: Path, mtime: int) -> None:
    """A tar.gz whose bytes depend only on `files`: sorted members, fixed owner, mode and times."""
    dirs = sorted({"/".join(name.split("/")[:i]) for name in files for i in range(1, name.count("/") + 1)})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(set(dirs) | set(files)):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "root", "root"
            if name in files:
                data, info.mode = files[name]
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(buffer.getvalue())
    tmp.replace(out)


@dataclass
class BuiltRelease:
    version: str
    path: Path
    sha256: str
    size: int


def build_releases(profile: Profile, versions: list[str] | None = None, out_dir: Path | None = None,
                   wheel_cache: Path | None = None) -> list[BuiltRelease]:
    """Build the release archives of `versions` (default: every manifest) reproducibly."""
    manifests = release_manifests(profile)
    versions = versions or list(manifests)
    unknown = [v for v in versions if v not in manifests]
    if unknown:
        raise ProfileError(f"no release manifest for {', '.join(unknown)} in {stack_dir(profile) / 'releases'} "
                           f"(known: {', '.join(manifests)})")
    out_dir = Path(out_dir) if out_dir else (profile.archive("0").parent if profile.deployment
                                             else stack_dir(profile) / "build")
    wheel_cache = Path(wheel_cache) if wheel_cache else out_dir.parent / "wheelhouse"
    wheels = wheelhouse(stack_dir(profile) / "requirements.txt", wheel_cache)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", FIXED_MTIME))
    built = []
    for version in versions:
        path = profile.archive(version) if profile.deployment else out_dir / f"{profile.name}-{version}.tar.gz"
        if out_dir != path.parent:
            path = out_dir / path.name
        write_archive(_release_files(profile, version, manifests[version], wheels), path, mtime)
        data = path.read_bytes()
        built.append(BuiltRelease(version, path, hashlib.sha256(data).hexdigest(), len(data)))
    (out_dir / "SHA256SUMS").write_text("".join(f"{b.sha256}  {b.path.name}\n" for b in sorted(
        built, key=lambda b: b.path.name)))
    return built


# -- a stack deployed on a device ------------------------------------------------------------------
@dataclass
class DeviceStack(TargetAddressed):
    """The stack on a target with a shell (virtual or real device), driven by the profile's commands.

    Ports are reached through `target.address(port)` (a forwarded port on the virtual device).
    Credentials are read from the device (the secrets file, over the target's shell with sudo) and
    API keys are minted there with the profile's command; all are registered for redaction at once.
    """

    target: object
    profile: Profile
    environment: str
    _keys_for: str | None = field(default=None, repr=False)
    _api_keys: dict = field(default_factory=dict, repr=False)
    _revoked: str | None = field(default=None, repr=False)

    def run(self, command: str, timeout: float = 300):
        return self.target.run(command, timeout=timeout)

    # -- operations ----------------------------------------------------------------------------
    def upload(self, version: str) -> None:
        archive = self.profile.archive(version)
        if not archive.exists():
            raise ProfileError(f"release archive {archive} is missing; run `ivv stack build` first")
        remote = self.profile.upload_path(version)
        if remote:
            self.target.put(archive, remote)

    def commands(self, operation: str, version: str | None = None) -> list[str]:
        return operation_commands(self.profile, operation, {"version": version or "", "environment": self.environment})

    def operation(self, operation: str, version: str | None = None, timeout: float = 300) -> list:
        """Run one operation's commands in order; stops at the first failing one. Returns the results."""
        if version and operation in ("install", "upgrade"):
            self.upload(version)
        results = []
        for command in self.commands(operation, version):
            result = self.run(command, timeout)
            results.append(result)
            if result.exit_status != 0:
                break
        return results

    def installed_version(self) -> str | None:
        return installed_version(self.target, self.profile)

    def wait_ready(self, timeout: float = 90.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            code, body = self.ready()
            if code == 200 and body and body.get("status") == "ready":
                return time.monotonic() - started
            time.sleep(0.5)
        code, body = self.ready()
        raise TargetError(f"{self.target.name}: stack not ready after {timeout:.0f} s (last: {code} {body})")

    # -- dependencies and faults ---------------------------------------------------------------
    def stop_media(self) -> None:
        self.run(self.profile.media["stop"], 60)

    def start_media(self) -> None:
        self.run(self.profile.media["start"], 60)

    def set_faults(self, knobs: dict) -> None:
        """Write the faults file and apply it (restart). An empty dict clears every knob."""
        faults = self.profile.faults
        if faults is None:
            raise ProfileError(f"{self.profile.path}: no `faults` section")
        if not knobs:
            self.run(faults.get("clear") or f"sudo rm -f {faults['file']} && {faults['apply']}", 120)
            return
        text = self.profile.fault_file_text(knobs)
        self.run(f"printf %s {shlex.quote(text)} | sudo tee {shlex.quote(faults['file'])} >/dev/null && "
                 f"sudo chmod 0640 {shlex.quote(faults['file'])} && {faults['apply']}", 120)

    # -- credentials ---------------------------------------------------------------------------
    def jwt_secret(self) -> str:
        spec = self.profile.auth.get("credentials", {}).get("jwt_secret")
        if not spec:
            raise ProfileError(f"{self.profile.path}: auth.credentials.jwt_secret is not given")
        result = self.run(f"sudo cat {shlex.quote(spec['file'])}", 30)
        for line in result.stdout.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == spec["key"]:
                secret = value.strip().strip("'\"")
                redact.register(secret)
                return secret
        raise TargetError(f"{self.target.name}: {spec['key']} not found in {spec['file']} "
                          f"(exit {result.exit_status}; is the stack installed?)")

    def _mint_key(self, role: str) -> dict:
        command = render(self.profile.auth["credentials"]["api_key_add"], {"role": role},
                         where="profile auth.credentials.api_key_add")
        result = self.run(command, 60)
        try:
            entry = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise TargetError(f"{self.target.name}: api_key_add for {role} failed (exit {result.exit_status})") from exc
        redact.register(entry["key"])
        return entry

    def credentials(self, api_keys: bool = True):
        """ivv.rpc.auth.Credentials: the device's JWT secret, and API keys minted for this run (unless
        `api_keys` is False: minting runs a tool on the device, slow on a small board)."""
        secret = self.jwt_secret()
        creds = self.profile.auth.get("credentials", {})
        if api_keys and creds.get("api_key_add") and self._keys_for != secret:
            self._api_keys = {role: self._mint_key(role)["key"] for role in ROLES}
            revoked = self._mint_key("admin")
            if creds.get("api_key_revoke"):
                self.run(render(creds["api_key_revoke"], {"id": revoked["id"]},
                                where="profile auth.credentials.api_key_revoke"), 60)
                self._revoked = revoked["key"]
            self._keys_for = secret
        if self._keys_for != secret:
            return Credentials(secret)
        return Credentials(secret, dict(self._api_keys), self._revoked)
