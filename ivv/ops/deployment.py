"""The profile's deployment operations on a deployed stack, and the before/after facts that judge them.

Install, upgrade, rollback and uninstall are the profile's own commands run by the stack
(`ivv.stack.device.DeviceStack.operation`, timed from the first command to ready by code AND body).
Data checksums, config snapshots, file inventories, ownership and modes are taken on the device, so
"nothing changed" and "data preserved" are comparisons, not claims. Everything stack-specific comes from
the profile; gate settings from `gates`.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict

from ivv.errors import ProfileError
from ivv.evidence.facts import Fact, Undecided
from ivv.ops import runbook
from ivv.ops.files import data_checksums, diff_inventory, file_inventory, without_noise
from ivv.ops.operation import Operation
from ivv.ops.rollback import AfterRollback, Baseline, BrokenUpgrade, residue_of
from ivv.ops.rules import PathRule, Port, ServiceUser
from ivv.rpc.tls import speaks_tls
from ivv.stack.base import Capability
from ivv.targets import facts


def dump(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))


class StackOps:
    """The deployment operations of one stack that can deploy (`Capability.DEPLOY`)."""

    def __init__(self, stack, gates=None):
        stack.require(Capability.DEPLOY)
        self.stack, self.target, self.profile, self.gates = stack, stack.target, stack.profile, gates
        self.deployment = self.profile.deployment
        self.paths = self.profile.paths

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

    def is_ready(self) -> bool:
        return self.stack.ready().is_ready

    def wait_ready(self, timeout_s: float):
        return self.stack.wait_ready(timeout_s)

    dump = staticmethod(dump)

    def release(self, version: str):
        from ivv.stack import release
        return release.pinned(self.profile, version)

    def upload(self, version: str) -> None:
        self.stack.upload(version)

    # -- operations ------------------------------------------------------------------------------
    def operation(self, operation: str, version: str | None = None, environment: str | None = None,
                  wait_ready: bool = True) -> Operation:
        return self.stack.operation(operation, version, environment or self.environments[-1], wait_ready,
                                    self.ready_timeout_s)

    def deployed_environment(self) -> str | None:
        """The environment last installed successfully (None: unknown, deploy it again)."""
        return self.stack.deployed_environment

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
        return self.stack.installed_version()

    # -- facts -------------------------------------------------------------------------------------
    def as_user(self, user: str, command: str):
        return self.target.run(f"sudo -n -u {shlex.quote(user)} sh -c {shlex.quote(command)}", timeout=30)

    def unit_states(self) -> dict:
        keep = ("ActiveState", "SubState", "UnitFileState", "Restart", "LoadState")
        return {u: {k: v for k, v in facts.unit_state(self.target, u).items() if k in keep} for u in self.units}

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
        return facts.stat(self.target, path)

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
        names = {self.stack.port(s): s for s in ("rpc", "health", "media") if (self.profile.data.get(s) or {}).get("port")}
        return [Port(names[port], port, (address,)) for port, address in self.stack.binds(environment).items()
                if port in names]

    def observe_environment(self, environment: str) -> list[Fact]:
        """What the running service shows of the environment's configuration: TLS on the API port as the
        profile says for this environment (a TLS handshake is tried, not a file read), every port listening
        on that environment's bind address, and the environment the stack reports itself where the
        profile names a command for it (`deployment.environment_command`)."""
        host, port = self.target.address(self.profile.rpc["port"])
        want_tls = self.profile.tls(environment)
        seen_tls, detail = speaks_tls(host, port)
        out = [Fact(f"API port {self.profile.rpc['port']} speaks TLS: {want_tls}", seen_tls == want_tls,
                    want_tls, detail)]
        for item in self.ports(environment):
            seen = facts.listening_addresses(self.target, item.port)
            wanted = {facts.normalise_address(a) for a in item.addresses}
            out.append(Fact(f"{item.name} port {item.port} listens on {sorted(wanted)} only", seen == wanted,
                            sorted(wanted), sorted(seen)))
        command = self.deployment.get("environment_command")
        if command:
            result = self.target.run(command, timeout=30)
            reported = result.stdout.strip() if result.exit_status == 0 else f"exit {result.exit_status}"
            out.append(Fact("the stack reports the environment deployed", reported == environment, environment,
                            reported))
        return out

    def environments_differ(self, configs: dict[str, dict]) -> Fact | Undecided:
        """Each environment deployed left its own configuration: an installer that ignores the environment
        leaves the same files (sha256) for two of them, which no single-environment check can see."""
        name = "each environment deploys its own configuration"
        if len(configs) < 2:
            return Undecided(name, f"only {len(configs)} environment deployed; nothing to compare")
        if not all(configs.values()):
            return Undecided(name, "the configuration folder (paths.config) is empty or missing")
        sums = {env: sorted((p, v.get("sha256")) for p, v in inv.items() if v.get("type") == "f")
                for env, inv in configs.items()}
        same = [(a, b) for i, a in enumerate(sums) for b in list(sums)[i + 1:] if sums[a] == sums[b]]
        return Fact(name, not same, expected="a different configuration per environment",
                    observed=("identical configuration files for " + "; ".join(f"{a} and {b}" for a, b in same))
                    if same else f"{len(configs)} environments, each its own configuration")

    def unit_files(self) -> list[str]:
        return [path for path in (facts.unit_state(self.target, unit).get("FragmentPath") for unit in self.units)
                if path]

    def inventory_install(self) -> dict:
        """The install tree plus the units' own files: what an install, upgrade or rollback writes."""
        roots = ([self.paths["install"]] if self.paths.get("install") else []) + self.unit_files()
        return without_noise(file_inventory(self.target, roots, skip=self._volatile()))

    def _volatile(self) -> list[str]:
        """Paths whose contents change by design while the service runs (faults file, logs, the pid files
        of its components): never residue of a release, whatever tree they sit in."""
        out = []
        if self.profile.faults and self.profile.faults.get("file"):
            out.append(self.profile.faults["file"])
        if self.paths.get("logs"):
            out.append(self.paths["logs"])
        return out + [c.pidfile for c in self.stack.components if c.pidfile]

    def config_inventory(self) -> dict:
        roots = [self.paths[k] for k in ("config", "secrets_file") if self.paths.get(k)]
        return without_noise(file_inventory(self.target, roots, skip=self._volatile()))

    def data_checksums(self) -> dict[str, str]:
        return data_checksums(self.target, self.profile.data_dirs)

    def seed_data_markers(self) -> list[str]:
        """One random file per data directory, owned like the directory, so 'data kept' has data to keep;
        the files actually written (a write that failed is left out, so the comparison stays honest)."""
        written = []
        for directory in self.profile.data_dirs:
            path = f"{directory.rstrip('/')}/ivv-marker-{int(time.time() * 1000)}.bin"
            result = self.target.run(f"sudo sh -c 'head -c 65536 /dev/urandom > {path}' && "
                                     f"sudo chown --reference={shlex.quote(directory)} {path}", timeout=30)
            if result.exit_status == 0:
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
        installed = self.installed_version()
        # a stack that is just restarting is waited for, not reinstalled (that would lose its state)
        if not (installed == version and (self.is_ready() or self.wait_ready(self.ready_timeout_s).reached)):
            if installed is not None:
                self.uninstall()
            op = self.install(version, environment)
            if not (op.succeeded and op.ready):
                raise RuntimeError(f"installing {version} for the rollback baseline failed: "
                                   f"{dump(op.as_dict())}")
        written = write_data()
        return Baseline(version, next_version, environment, self.data_checksums(), self.config_inventory(),
                        self.inventory_install(), written)

    def upgrade_then_rollback(self, baseline: Baseline) -> tuple[Operation, Operation, AfterRollback]:
        up = self.upgrade(baseline.next_version, baseline.environment)
        upgraded = self.installed_version()
        back = self.rollback(baseline.environment)
        config = self.config_inventory()
        after = AfterRollback(
            version=self.installed_version(), upgraded_version=upgraded, data=self.data_checksums(), config=config,
            config_diff=diff_inventory(baseline.config, config),
            residue=residue_of(diff_inventory(baseline.install, self.inventory_install()), self.paths,
                             baseline.next_version))
        return up, back, after

    def broken_upgrade(self, baseline: Baseline) -> BrokenUpgrade:
        """Upgrade to the profile's broken release: the failure must be seen, and N must come back."""
        broken = self.deployment.get("broken")
        if not broken:
            raise ProfileError(f"{self.profile.path}: deployment.broken names no broken release to test with")
        self.stack.upload(broken)
        start = time.monotonic()
        up = self.stack.operation("upgrade", broken, baseline.environment, ready_timeout_s=self.ready_timeout_s,
                                  upload=False)
        if up.failed_step is not None:
            detection = f"upgrade command exited {up.failed_step.exit_status}: {up.failed_step.command}"
        elif not up.ready:
            detection = f"service not ready within {self.ready_timeout_s} s after the upgrade"
        else:
            detection = "upgrade reported success and the service answered ready"
        detected = up.failed_step is not None or not up.ready
        recovery = None
        waited = self.stack.wait_ready(min(self.ready_timeout_s, 30))
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
        return runbook.execute(self.target, commands)

