"""Where a stack on a target answers: one place that turns a profile and a target into URLs, shared by
the deployed stack (ivv.stack.local.DeviceStack), its operations (ivv.ops.deployment.StackOps) and a service ivv did
not deploy (ivv.stack.endpoint.EndpointStack)."""

from __future__ import annotations

import requests


class TargetAddressed:
    """Where a stack on a target answers: its ports reached through `target.address(port)` (a
    forwarded port on the virtual device), URLs built by the profile. Needs `target`, `profile`
    and `environment` attributes."""

    def _addr(self, port: int) -> tuple[str, int]:
        return self.target.address(port)

    @property
    def rpc_url(self) -> str:
        host, port = self._addr(self.profile.rpc["port"])
        return self.profile.rpc_url(host, port, self.environment)

    def health_url(self, name: str | None = None) -> str:
        """URL of a health endpoint by its profile name (default: the profile's ready endpoint)."""
        host, port = self._addr(self.profile.health["port"])
        return self.profile.health_url(name or self.profile.ready_endpoint, host, port)

    @property
    def files_base(self) -> str:
        host, port = self._addr(self.profile.rpc["port"])
        return self.profile.files_base(host, port, self.environment)

    @property
    def data_dirs(self) -> list[str]:
        return self.profile.data_dirs

    def ready(self, timeout: float = 3.0) -> tuple[int | None, dict | None]:
        """(status code, body) of the readiness endpoint, or (None, None) when it does not answer."""
        try:
            answer = requests.get(self.health_url(), timeout=timeout, verify=False)
            return answer.status_code, answer.json()
        except (requests.RequestException, ValueError):
            return None, None
