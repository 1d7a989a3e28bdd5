"""A stack ivv did not deploy (endpoint-only profile): reached where the profile and the target say,
with the credentials the profile names by environment variable. On a target with a shell (an ssh
target from `--inventory`) it can still list its sockets, sample its processes and run the profile's
stop/start commands; it never deploys and sets no fault knobs.
"""

from __future__ import annotations

from ivv.stack import credentials as creds
from ivv.stack.base import Capability
from ivv.stack.remote import RemoteStack


class EndpointStack(RemoteStack):
    kind = "endpoint"

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(super().capabilities - {Capability.DEPLOY, Capability.FAULTS})

    def credentials(self, api_keys: bool = True):
        return creds.from_env(self.profile)
