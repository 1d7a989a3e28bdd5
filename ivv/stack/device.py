"""A stack ivv deployed on a target with a shell (the virtual device or a real one).

It is a `RemoteStack` that can also deploy: the profile's install, upgrade, rollback and uninstall
commands run as written on the target, each a timed `Operation` (first command to ready), with the
release archive pinned for the run and uploaded first. Its status follows the operations, so an
impossible move (a rollback with nothing installed) raises instead of timing a no-op. Credentials are
the device's own: the secret read from its secrets file, API keys minted for the run and revoked when
the stack is closed.
"""

from __future__ import annotations

from ivv.ops.commands import installed_version, operation_commands
from ivv.ops.operation import Operation, run_operation
from ivv.stack import credentials as creds
from ivv.stack import release
from ivv.stack.base import Capability
from ivv.stack.remote import RemoteStack


class DeviceStack(RemoteStack):
    kind = "device"

    def __init__(self, target, profile, environment: str):
        super().__init__(target, profile, environment)
        self.deployed_environment: str | None = None   # what this object last installed successfully
        self._keys = creds.DeviceKeys(target, profile)

    @property
    def capabilities(self) -> frozenset[str]:
        caps = set(super().capabilities)
        if Capability.SHELL in caps and self.profile.deployment:
            caps.add(Capability.DEPLOY)
        if Capability.SHELL in caps and self.profile.faults:
            caps.add(Capability.FAULTS)
        return frozenset(caps)

    @property
    def ready_timeout_s(self) -> float:
        return float((self.profile.deployment or {}).get("ready_timeout_s", 90))

    # -- deployment ----------------------------------------------------------------------------
    def upload(self, version: str) -> None:
        """Put the pinned release archive where the profile's commands expect it (not part of the timing)."""
        archive, _sha = release.pinned(self.profile, version)
        destination = self.profile.upload_path(version)
        if destination:
            self.target.put(archive, destination)

    def commands(self, operation: str, version: str | None = None, environment: str | None = None) -> list[str]:
        values = {"environment": environment or self.environment, **({"version": version} if version else {})}
        return operation_commands(self.profile, operation, values)

    def operation(self, operation: str, version: str | None = None, environment: str | None = None,
                  wait_ready: bool | None = None, ready_timeout_s: float | None = None,
                  upload: bool = True) -> Operation:
        """Run one operation's commands in order (stop at the first failure), then wait for ready
        (by default after every operation but uninstall and purge)."""
        self.require(Capability.DEPLOY)
        if wait_ready is None:
            wait_ready = operation not in ("uninstall", "purge")
        environment = environment or self.environment
        if upload and version and operation in ("install", "upgrade"):
            self.upload(version)
        began = self.device_time()
        op = run_operation(self.target, f"{operation} {version or ''}".strip(),
                           self.commands(operation, version, environment),
                           self.wait_ready if wait_ready else None, ready_timeout_s or self.ready_timeout_s)
        ended = self.device_time()
        op.window = (began, ended) if began is not None and ended is not None else None
        self.move(operation, op.succeeded and (op.ready or not wait_ready))
        if operation in ("install", "upgrade") and op.succeeded:
            self.environment = environment
            self.deployed_environment = environment
        elif operation in ("install", "upgrade", "uninstall", "purge"):
            self.deployed_environment = None
        return op

    def installed_version(self) -> str | None:
        return installed_version(self.target, self.profile)

    # -- credentials ---------------------------------------------------------------------------
    def credentials(self, api_keys: bool = True):
        """The device's JWT secret, and API keys minted for this run (unless `api_keys` is False:
        minting runs a tool on the device, slow on a small board)."""
        return creds.from_device(self.target, self.profile, self._keys, mint=api_keys)

    def close(self) -> None:
        """Revoke the API keys minted for the run."""
        self._keys.close()
