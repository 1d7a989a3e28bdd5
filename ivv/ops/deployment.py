"""Timed deployment operations on a target, and the before/after facts that judge them.

Install, upgrade, rollback and uninstall are the profile's own commands, run as written (with
`{version}`/`{environment}` filled in); the clock runs from the first command to the moment the health
endpoint says ready by code AND body. Data checksums, config snapshots and file inventories are taken
on the device so "nothing changed" and "data preserved" are comparisons, not claims.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ivv.errors import ProfileError
from ivv.rpc.tls import speaks_tls
from ivv.stack.addressing import TargetAddressed

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(command: str, values: Mapping[str, object], where: str = "deployment command") -> str:
    """Fill `{name}` placeholders; an unknown placeholder is a profile error naming it."""
    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise ProfileError(f"{where}: placeholder {{{name}}} has no value (known: {sorted(values)})")
        return str(values[name])
    return _PLACEHOLDER.sub(sub, command)


def operation_commands(profile, operation: str, values: Mapping[str, object]) -> list[str]:
    """The profile's commands of one deployment operation with their placeholders filled."""
    return [render(c, values, f"{profile.path}: deployment.{operation}") for c in profile.commands(operation)]


def installed_version(target, profile) -> str | None:
    """The release the profile's `version_command` reports on the target (None: none, or no command)."""
    command = (profile.deployment or {}).get("version_command")
    if not command:
        return None
    result = target.run(command, timeout=30)
    return (result.stdout.strip() or None) if result.exit_status == 0 else None


@dataclass
class StepResult:
    """One command of a deployment operation."""

    command: str
    exit_status: int
    duration_s: float
    stdout_tail: str = ""
    stderr_tail: str = ""


@dataclass
class Operation:
    """A timed operation: its commands, whether they succeeded, and when the service was ready."""

    name: str
    steps: list[StepResult] = field(default_factory=list)
    commands_s: float = 0.0
    ready: bool = False
    total_s: float | None = None      # first command start -> ready (None when never ready)
    ready_wait_s: float = 0.0
    ready_observation: object = None

    @property
    def succeeded(self) -> bool:
        return all(s.exit_status == 0 for s in self.steps) and bool(self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.exit_status != 0), None)

    def as_dict(self) -> dict:
        return asdict(self) | {"succeeded": self.succeeded}


def _tail(text: str, limit: int = 2000) -> str:
    return text[-limit:] if text else ""


def run_operation(target, name: str, commands: Iterable[str], ready: Callable[[float], object] | None,
                  ready_timeout_s: float, command_timeout_s: float = 600) -> Operation:
    """Run `commands` in order (stop at the first failure), then wait for ready.

    `ready(timeout_s)` returns an object with `.reached`, `.elapsed_s`, `.last` (ivv.health.probe.WaitResult).
    The total time runs from the first command's start to the ready answer.
    """
    op = Operation(name)
    start = time.monotonic()
    for command in commands:
        result = target.run(command, timeout=command_timeout_s)
        op.steps.append(StepResult(command, result.exit_status, round(result.duration, 3),
                                   _tail(result.stdout), _tail(result.stderr)))
        if result.exit_status != 0:
            break
    op.commands_s = round(time.monotonic() - start, 3)
    if ready is not None and op.succeeded:
        waited = ready(ready_timeout_s)
        op.ready = bool(waited.reached)
        op.ready_wait_s = round(waited.elapsed_s, 3)
        op.ready_observation = waited.last
        if op.ready:
            op.total_s = round(time.monotonic() - start, 3)
    return op


# --- facts on the device -------------------------------------------------------------------------------

_INVENTORY_SCRIPT = r"""
import hashlib, json, os, pwd, grp, stat, sys
roots = json.loads(sys.argv[1]); skip = tuple(json.loads(sys.argv[2]))
out = {}
def name(fn, i):
    try: return fn(i)[0]
    except KeyError: return str(i)
for root in roots:
    if not os.path.lexists(root): continue
    walk = [(root, [], [])] if not os.path.isdir(root) or os.path.islink(root) else os.walk(root)
    for base, dirs, files in walk:
        for entry in [base] + [os.path.join(base, f) for f in files + [d for d in dirs if os.path.islink(os.path.join(base, d))]]:
            if entry in out or entry.startswith(skip): continue
            st = os.lstat(entry)
            item = {"mode": oct(stat.S_IMODE(st.st_mode)), "owner": name(pwd.getpwuid, st.st_uid),
                    "group": name(grp.getgrgid, st.st_gid),
                    "type": "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"}
            if item["type"] == "f":
                h = hashlib.sha256()
                with open(entry, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""): h.update(chunk)
                item["sha256"] = h.hexdigest(); item["size"] = st.st_size
            elif item["type"] == "l":
                item["link"] = os.readlink(entry)
            out[entry] = item
json.dump(out, sys.stdout, sort_keys=True)
"""


def file_inventory(target, roots: Iterable[str], skip: Iterable[str] = (), timeout: float = 300
                   ) -> dict[str, dict]:
    """Every file, directory and link under `roots` (as root): mode, owner, group, sha256 of files."""
    roots = [r for r in roots if r]
    if not roots:
        return {}
    cmd = (f"sudo python3 -c {shlex.quote(_INVENTORY_SCRIPT)} "
           f"{shlex.quote(json.dumps(roots))} {shlex.quote(json.dumps(list(skip)))}")
    result = target.run(cmd, timeout=timeout)
    if result.exit_status != 0:
        raise RuntimeError(f"file inventory on {getattr(target, 'name', '?')} failed "
                           f"(exit {result.exit_status}): {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


def data_checksums(target, roots: Iterable[str]) -> dict[str, str]:
    """sha256 of every regular file under the data roots."""
    return {p: item["sha256"] for p, item in file_inventory(target, roots).items() if item["type"] == "f"}


def diff_inventory(before: Mapping[str, dict], after: Mapping[str, dict]) -> dict:
    """Added, removed and changed paths between two inventories (changed: field -> [before, after])."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = {}
    for path in sorted(set(before) & set(after)):
        fields = {k: [before[path].get(k), after[path].get(k)]
                  for k in set(before[path]) | set(after[path])
                  if before[path].get(k) != after[path].get(k)}
        if fields:
            changed[path] = fields
    return {"added": added, "removed": removed, "changed": changed}


def is_empty_diff(diff: Mapping) -> bool:
    return not (diff["added"] or diff["removed"] or diff["changed"])


def unit_state(target, unit: str) -> dict[str, str]:
    """systemd's own view of a unit: ActiveState, SubState, UnitFileState, Restart, MainPID, User."""
    props = "ActiveState,SubState,UnitFileState,Restart,MainPID,User,LoadState,NRestarts"
    result = target.run(f"systemctl show --property={props} {shlex.quote(unit)}", timeout=30)
    state = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key:
            state[key] = value
    return state


def unit_ok(state: Mapping[str, str]) -> tuple[bool, str]:
    """Enabled, active (running) and restarted by systemd when it dies."""
    problems = []
    if state.get("LoadState") not in (None, "loaded"):
        problems.append(f"LoadState={state.get('LoadState')}")
    if state.get("UnitFileState") != "enabled":
        problems.append(f"UnitFileState={state.get('UnitFileState')!r} (want enabled)")
    if state.get("ActiveState") != "active":
        problems.append(f"ActiveState={state.get('ActiveState')!r} (want active)")
    if state.get("Restart") in (None, "", "no"):
        problems.append(f"Restart={state.get('Restart')!r} (want a restart policy)")
    return (not problems), "; ".join(problems) or "enabled, active, Restart=" + state.get("Restart", "")


def listening(target) -> list[dict]:
    """TCP sockets in LISTEN state on the device: [{address, port, process}] (from `ss -Hltnp`)."""
    result = target.run("sudo ss -Hltnp", timeout=30)
    sockets = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        local = parts[3]
        address, _, port = local.rpartition(":")
        sockets.append({"address": address.strip("[]").split("%")[0], "port": int(port),
                        "process": " ".join(parts[5:])})
    return sockets


def addresses_on_port(sockets: Iterable[Mapping], port: int) -> set[str]:
    return {s["address"] for s in sockets if s["port"] == port}


def normalise_address(address: str) -> str:
    """0.0.0.0 and * mean the same to a client; so do :: and [::]."""
    return {"*": "0.0.0.0", "[::]": "::"}.get(address, address)


def diff_checksums(before: Mapping[str, str], after: Mapping[str, str]) -> dict:
    """Which data files vanished, appeared or changed content (for evidence: short lists)."""
    return {"missing": sorted(set(before) - set(after)), "new": sorted(set(after) - set(before)),
            "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p])}


# --- the profile's deployment, driven on a target ------------------------------------------------------

@dataclass(frozen=True)
class ServiceUser:
    name: str
    groups: tuple[str, ...]
    devices: tuple[str, ...]


@dataclass(frozen=True)
class PathRule:
    """A rule every stack's file of this role must follow (the profile names the path)."""

    path: str
    role: str
    owners: tuple[str, ...]          # acceptable owners (empty: any)
    forbidden_bits: int              # mode bits that must be clear
    text: str

    def judge(self, observed: Mapping | None) -> bool:
        if not observed:
            return False
        mode = int(observed["mode"], 8)
        return (not self.owners or observed["owner"] in self.owners) and not (mode & self.forbidden_bits)


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Fact:
    """One observation of the running service compared with what the profile says."""

    name: str
    ok: bool
    expected: object
    observed: object


@dataclass
class AfterRollback:
    version: str | None
    upgraded_version: str | None
    data: dict
    config_diff: dict
    residue: dict

    def summary(self) -> dict:
        return {"version": self.version, "upgraded_version": self.upgraded_version, "data_files": len(self.data),
                "config_diff": self.config_diff, "residue": self.residue}


@dataclass
class Baseline:
    """Version N installed, with data written through the API: what every rollback must give back."""

    version: str
    next_version: str
    environment: str
    data: dict
    config: dict
    install: dict
    written: list


@dataclass
class BrokenUpgrade:
    upgrade: Operation
    detected: bool
    detection: str
    recovery: Operation | None
    recovery_s: float | None
    version: str | None
    data: dict

    def as_dict(self) -> dict:
        return {"upgrade": self.upgrade.as_dict(), "detected": self.detected, "detection": self.detection,
                "recovery": self.recovery.as_dict() if self.recovery else None, "recovery_s": self.recovery_s,
                "version": self.version, "data_files": len(self.data)}


# Release archives pinned for this process: version -> (private copy, sha256).
_PINNED: dict[str, tuple[Path, str]] = {}

# Files a running service legitimately creates inside its install tree (bytecode caches).
RUNTIME_NOISE = ("__pycache__",)


class StackOps(TargetAddressed):
    """The profile's deployment operations on one target, and the facts that judge them.

    Everything stack-specific comes from the profile (ivv.config.profile.Profile); gate settings from `gates`.
    """

    def __init__(self, target, profile, gates=None):
        self.target = target
        self.profile = profile
        self.gates = gates
        if profile.deployment is None:
            raise ProfileError(f"{profile.path}: endpoint-only profile: the deployment suites need `deployment`")
        self.deployment = profile.deployment
        self.paths = profile.paths
        self._environment: str | None = None     # the environment this object last deployed

    # -- what the profile says -----------------------------------------------------------------
    def setting(self, key: str, default=None):
        return self.gates.setting(key, default) if self.gates is not None else default

    @property
    def current_version(self) -> str:
        return self.deployment.get("current") or self.deployment["versions"][-1]

    @property
    def previous_version(self) -> str:
        previous = self.deployment.get("previous")
        if previous:
            return previous
        versions = self.deployment["versions"]
        if len(versions) < 2:
            raise ProfileError(f"{self.profile.path}: deployment.versions needs two versions to roll back")
        return versions[-2]

    @property
    def environments(self) -> list[str]:
        """Deployment environments in rollout order; the last one stays deployed."""
        chosen = self.setting("deployment.environments")
        if chosen:
            return list(chosen)
        known = [e for e in self.profile.environments if e != "local"]
        final = getattr(self.target, "environment", None)
        final = final if final in known else known[-1]
        others = [e for e in known if e != final]
        differing = [e for e in others if self.profile.tls(e) != self.profile.tls(final)]
        return ([differing[0]] if differing else others[:1]) + [final]

    @property
    def units(self) -> list[str]:
        return self.profile.units

    @property
    def users(self) -> list[ServiceUser]:
        device = self.profile.camera.get("device")
        out = []
        for user in self.profile.users:
            groups = tuple(user.get("groups", ()))
            devices = tuple(user.get("devices", [device] if device and "video" in groups else []))
            out.append(ServiceUser(user["name"], groups, devices))
        return out

    @property
    def log_dir(self) -> str | None:
        return self.paths.get("logs")

    @property
    def ready_timeout_s(self) -> float:
        return float(self.deployment.get("ready_timeout_s", self.setting("deployment.install_timeout_s", 600)))

    @property
    def environment(self) -> str | None:
        """The environment deployed last by this object, else the target's own (for URL schemes)."""
        return self._environment or getattr(self.target, "environment", None)

    def ready_answer(self):
        from ivv.health.probe import probe
        return probe(self.health_url())

    def is_ready(self) -> bool:
        return self.ready_answer().is_ready

    def wait_ready(self, timeout_s: float):
        """Wait for ready; when it never comes, make sure the device itself still answers (a dead
        device raises TargetUnreachable, so the criterion is NOT VERIFIED rather than FAIL)."""
        from ivv.health.probe import wait_ready
        waited = wait_ready(self.health_url(), timeout_s, interval_s=0.5)
        if not waited.reached:
            self.target.run("true", timeout=30)
        return waited

    @staticmethod
    def dump(obj) -> str:
        return json.dumps(obj, indent=2, sort_keys=True, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))

    # -- operations ------------------------------------------------------------------------------
    def _values(self, version: str | None = None, environment: str | None = None) -> dict:
        values = {"environment": environment or self.environments[-1]}
        if version:
            values["version"] = version
        return values

    def _commands(self, operation: str, **values) -> list[str]:
        return operation_commands(self.profile, operation, values)

    def release(self, version: str) -> tuple[Path, str]:
        """The archive of `version` as first seen by this run (copied and pinned by sha256, so a rebuild
        during the run cannot change the release under test half-way) and its sha256."""
        if version not in _PINNED:
            archive = self.profile.archive(version)
            if not archive.is_file():
                self._build_archives()
            if not archive.is_file():
                raise ProfileError(f"{self.profile.path}: deployment.archive for {version}: no file {archive} "
                                   f"(build it with `{self.deployment.get('build', 'the stack build')}`)")
            pinned = Path(tempfile.mkdtemp(prefix="ivv-release-")) / archive.name
            shutil.copyfile(archive, pinned)
            _PINNED[version] = (pinned, hashlib.sha256(pinned.read_bytes()).hexdigest())
        return _PINNED[version]

    def upload(self, version: str) -> None:
        """Put the release archive where the profile's commands expect it (not part of the timing)."""
        archive, _sha = self.release(version)
        destination = self.profile.upload_path(version)
        if destination:
            self.target.put(archive, destination)

    def _build_archives(self) -> None:
        build = self.deployment.get("build")
        if build:
            import subprocess
            argv = shlex.split(build)
            if argv[:1] == ["ivv"]:  # this harness itself, whether or not its venv is on PATH
                argv = [sys.executable, "-m", "ivv.cli", *argv[1:]]
            subprocess.run(argv, cwd=self.profile.path.parent, check=False, timeout=600)

    def operation(self, operation: str, version: str | None = None, environment: str | None = None,
                  wait_ready: bool = True) -> Operation:
        if version:
            self.upload(version)
        values = self._values(version, environment)
        commands = self._commands(operation, **values)
        op = run_operation(self.target, f"{operation} {version or ''}".strip(), commands,
                           self.wait_ready if wait_ready else None, self.ready_timeout_s)
        self._environment = values["environment"] if operation in ("install", "upgrade") and op.succeeded else None
        return op

    def deployed_environment(self) -> str | None:
        """The environment this object last installed successfully (None: unknown, deploy it again)."""
        return self._environment

    def install(self, version: str, environment: str | None = None) -> Operation:
        return self.operation("install", version, environment)

    def configure(self, environment: str) -> Operation:
        """Deploy the installed version with another environment's configuration."""
        return self.install(self.installed_version() or self.current_version, environment)

    def upgrade(self, version: str, environment: str | None = None) -> Operation:
        return self.operation("upgrade", version, environment)

    def rollback(self, environment: str | None = None) -> Operation:
        return self.operation("rollback", None, environment)

    def uninstall(self) -> Operation:
        return self.operation("uninstall", None, None, wait_ready=False)

    def ensure_absent(self) -> Operation:
        return self.uninstall()

    def installed_version(self) -> str | None:
        return installed_version(self.target, self.profile)

    # -- facts -------------------------------------------------------------------------------------
    def as_user(self, user: str, command: str):
        return self.target.run(f"sudo -n -u {shlex.quote(user)} sh -c {shlex.quote(command)}", timeout=30)

    def unit_states(self) -> dict:
        keep = ("ActiveState", "SubState", "UnitFileState", "Restart", "LoadState")
        return {u: {k: v for k, v in unit_state(self.target, u).items() if k in keep} for u in self.units}

    def path_rules(self) -> list[PathRule]:
        """Ownership/mode rules any stack must meet, applied to the paths its profile names."""
        service = tuple(u.name for u in self.users)
        rules = []
        if self.paths.get("secrets_file"):
            rules.append(PathRule(self.paths["secrets_file"], "secrets", ("root", *service), 0o077,
                                  "owner root or a service user, mode 0600 or stricter"))
        for key, role in (("config", "configuration"), ("install", "install root"), ("current", "code")):
            if self.paths.get(key):
                rules.append(PathRule(self.paths[key], role, ("root", *service), 0o002,
                                      "owner root or a service user, not world-writable"))
        if self.log_dir:
            rules.append(PathRule(self.log_dir, "logs", ("root", *service), 0o002,
                                  "owner root or a service user, not world-writable"))
        for path in self.profile.data_dirs:
            rules.append(PathRule(path, "data", service, 0o002, "owned by a service user, not world-writable"))
        return rules

    def stat(self, path: str) -> dict | None:
        result = self.target.run(f"sudo stat -L -c '%U %G %a %F' {shlex.quote(path)}", timeout=30)
        if result.exit_status != 0:
            return None
        owner, group, mode, *kind = result.stdout.split()
        return {"owner": owner, "group": group, "mode": oct(int(mode, 8)), "type": " ".join(kind)}

    def force_log_rotation(self) -> dict:
        """Is there a logrotate rule for the log directory, and does forcing it rotate a file?"""
        rule = self.paths.get("logrotate")
        config = self.target.run(f"sudo cat {shlex.quote(rule)}", timeout=30) if rule else None
        text = config.stdout if config is not None and config.exit_status == 0 else ""
        configured = bool(text) and bool(self.log_dir) and self.log_dir in text
        wanted_rotate = (self.profile.data.get("logs") or {}).get("rotate")
        if configured and wanted_rotate is not None:
            configured = re.search(rf"^\s*rotate\s+{int(wanted_rotate)}\s*$", text, re.M) is not None
        log_dir = shlex.quote(self.log_dir or "/nonexistent")
        listing = f"sudo find {log_dir} -maxdepth 1 -type f -printf '%f\\n'"
        # A quiet environment may not have logged yet, and logrotate rightly skips empty logs
        # (notifempty): give each empty log one line, so the forced rotation has something to rotate.
        seeded = self.target.run(
            f"sudo find {log_dir} -maxdepth 1 -type f -name '*.log' -empty -print "
            f"-exec sh -c 'echo \"ivv: log rotation check $(date -u +%FT%TZ)\" >> \"$1\"' _ {{}} \\;",
            timeout=30).stdout.split()
        before = set(self.target.run(listing, timeout=30).stdout.split())
        forced = self.target.run(f"sudo logrotate -v -f {shlex.quote(rule)}", timeout=60) if rule else None
        after = set(self.target.run(listing, timeout=30).stdout.split())
        new_files = sorted(after - before)
        rotated = forced is not None and forced.exit_status == 0 and any(
            re.search(r"\.(\d+|\d{8}(-\d+)?)(\.gz)?$", name) for name in new_files)
        return {"configured": configured, "config": text[-800:] or f"no rule at {rule}", "rotated": rotated,
                "seeded": seeded,
                "new_files": new_files, "exit": forced.exit_status if forced else None,
                "output": (forced.stdout + forced.stderr) if forced else "no logrotate rule in the profile"}

    def ports(self, environment: str) -> list[Port]:
        out = []
        for section in ("rpc", "health", "media"):
            spec = self.profile.data.get(section) or {}
            address = self.profile.bind(section, environment)
            if spec.get("port") and address:
                out.append(Port(section, int(spec["port"]), (address,)))
        return out

    def observe_environment(self, environment: str) -> list[Fact]:
        """What the running service shows of the environment's configuration: TLS on the API port as the
        profile says for this environment (a TLS handshake is tried, not a file read), and the service's
        own report of its environment where its health answer carries one."""
        host, port = self.target.address(self.profile.rpc["port"])
        want_tls = self.profile.tls(environment)
        seen_tls, detail = speaks_tls(host, port)
        facts = [Fact(f"API port {self.profile.rpc['port']} speaks TLS: {want_tls}", seen_tls == want_tls,
                      want_tls, detail)]
        return facts

    def unit_files(self) -> list[str]:
        out = []
        for unit in self.units:
            result = self.target.run(f"systemctl show --property=FragmentPath --value {shlex.quote(unit)}", timeout=30)
            if result.exit_status == 0 and result.stdout.strip():
                out.append(result.stdout.strip())
        return out

    def inventory_install(self) -> dict:
        """The install tree plus the units' own files: what an install, upgrade or rollback writes."""
        roots = ([self.paths["install"]] if self.paths.get("install") else []) + self.unit_files()
        return _without_noise(file_inventory(self.target, roots, skip=self._volatile()))

    def _volatile(self) -> list[str]:
        """Paths whose contents change by design while the service runs (faults file, logs)."""
        out = []
        if self.profile.faults and self.profile.faults.get("file"):
            out.append(self.profile.faults["file"])
        return out

    def config_inventory(self) -> dict:
        roots = [self.paths[k] for k in ("config", "secrets_file") if self.paths.get(k)]
        return _without_noise(file_inventory(self.target, roots, skip=self._volatile()))

    def data_checksums(self) -> dict[str, str]:
        return data_checksums(self.target, self.profile.data_dirs)

    def seed_data_markers(self) -> list[str]:
        """One random file per data directory, owned like the directory, so 'data kept' has data to keep."""
        written = []
        for directory in self.profile.data_dirs:
            path = f"{directory.rstrip('/')}/ivv-marker-{int(time.time() * 1000)}.bin"
            self.target.run(f"sudo sh -c 'head -c 65536 /dev/urandom > {path}' && "
                            f"sudo chown --reference={shlex.quote(directory)} {path}", timeout=30)
            written.append(path)
        return written

    def code_paths_present(self) -> list[str]:
        candidates = [self.paths[k] for k in ("current", "releases") if self.paths.get(k)] or \
            [self.paths["install"]]
        present = []
        for path in candidates:
            if self.target.run(f"sudo test -e {shlex.quote(path)}", timeout=30).exit_status == 0:
                present.append(path)
        return present

    # -- rollback --------------------------------------------------------------------------------
    def rollback_baseline(self, write_data: Callable[[], list]) -> Baseline:
        """Version N installed fresh in the last environment, data written through the API."""
        environment = self.environments[-1]
        version, next_version = self.previous_version, self.current_version
        if not (self.installed_version() == version and self.is_ready()):
            if self.installed_version() is not None:
                self.uninstall()
            op = self.install(version, environment)
            if not (op.succeeded and op.ready):
                raise RuntimeError(f"installing {version} for the rollback baseline failed: "
                                   f"{self.dump(op.as_dict())}")
        written = write_data()
        return Baseline(version, next_version, environment, self.data_checksums(), self.config_inventory(),
                        self.inventory_install(), written)

    def upgrade_then_rollback(self, baseline: Baseline) -> tuple[Operation, Operation, AfterRollback]:
        up = self.upgrade(baseline.next_version, baseline.environment)
        upgraded = self.installed_version()
        back = self.rollback(baseline.environment)
        after = AfterRollback(
            version=self.installed_version(), upgraded_version=upgraded, data=self.data_checksums(),
            config_diff=diff_inventory(baseline.config, self.config_inventory()),
            residue=_residue(diff_inventory(baseline.install, self.inventory_install()), self.paths,
                             baseline.next_version))
        return up, back, after

    def broken_upgrade(self, baseline: Baseline) -> BrokenUpgrade:
        """Upgrade to the profile's broken release: the failure must be seen, and N must come back."""
        broken = self.deployment.get("broken")
        if not broken:
            raise ProfileError(f"{self.profile.path}: deployment.broken names no broken release to test with")
        self.upload(broken)
        start = time.monotonic()
        commands = self._commands("upgrade", **self._values(broken, baseline.environment))
        up = run_operation(self.target, f"upgrade {broken}", commands, self.wait_ready, self.ready_timeout_s)
        if up.failed_step is not None:
            detection = f"upgrade command exited {up.failed_step.exit_status}: {up.failed_step.command}"
        elif not up.ready:
            detection = f"service not ready within {self.ready_timeout_s} s after the upgrade"
        else:
            detection = "upgrade reported success and the service answered ready"
        detected = up.failed_step is not None or not up.ready
        recovery = None
        waited = self.wait_ready(min(self.ready_timeout_s, 30))
        if detected and not (waited.reached and self.installed_version() == baseline.version):
            recovery = self.rollback(baseline.environment)
            ready = recovery.ready
        else:
            ready = waited.reached
        recovery_s = round(time.monotonic() - start, 3) if ready else None
        return BrokenUpgrade(up, detected, detection, recovery, recovery_s, self.installed_version(),
                             self.data_checksums())

    # -- documentation ---------------------------------------------------------------------------
    def runbook_path(self):
        path = self.profile.runbook_path
        if path is None:
            raise ProfileError(f"{self.profile.path}: no `runbook` file named: documentation cannot be checked")
        return path

    def required_procedures(self) -> list[str]:
        return list(self.setting("documentation.required_procedures", ["install", "status", "logs", "rollback"]))

    def run_runbook(self, commands):
        from ivv.ops import runbook
        return runbook.execute(self.target, commands)


def _without_noise(inventory: dict) -> dict:
    return {p: v for p, v in inventory.items() if not any(n in p.split("/") for n in RUNTIME_NOISE)}


def _residue(diff: dict, paths: Mapping, next_version: str) -> dict:
    """What of N+1 is left after rolling back to N, judged against N's own install tree.

    Any file of N changed or removed is residue; an added file is residue when its path names N+1
    (a kept copy of N+1 outside the profile's release store is still N+1). Config is compared on its own.
    A release store (`paths.releases`) may keep N+1 inactive: listed separately, as `kept_inactive`.
    """
    config = paths.get("config")
    store = paths.get("releases")

    def in_config(path: str) -> bool:
        return bool(config) and (path == config or path.startswith(config.rstrip("/") + "/"))

    def in_store(path: str) -> bool:
        return bool(store) and path.startswith(store.rstrip("/") + "/")

    def names_next(path: str) -> bool:
        return any(part == next_version or part.startswith(next_version + "-") or
                   part.endswith("-" + next_version) for part in path.split("/"))

    added = [p for p in diff["added"] if not in_config(p) and names_next(p)]
    return {"added": [p for p in added if not in_store(p)],
            "removed": [p for p in diff["removed"] if not in_config(p)],
            "changed": {p: v for p, v in diff["changed"].items() if not in_config(p)},
            "kept_inactive": len([p for p in added if in_store(p)])}


def residue_found(residue: Mapping) -> bool:
    return bool(residue["added"] or residue["removed"] or residue["changed"])


def write_data_via_api(client, device: str, recording_s: int = 2) -> list[dict]:
    """Make the service write data the way a user would: one snapshot and one short recording.

    `client` is an authenticated ivv.rpc.client.RpcClient (operator role or above). Returns the results, so the
    evidence shows which files the service said it wrote.
    """
    results = [{"take_snapshot": client.request("take_snapshot", {"device": device}, timeout=30)}]
    started = client.request("start_recording", {"device": device, "duration": recording_s}, timeout=30)
    time.sleep(recording_s + 1.0)
    try:
        stopped = client.request("stop_recording", {"device": device}, timeout=30)
    except Exception as exc:  # noqa: BLE001 - a recording that ended by its duration cannot be stopped
        stopped = {"note": f"stop_recording: {exc}"}
    results.append({"start_recording": started, "stop_recording": stopped})
    return results
