"""The attack surface a probe works on: the RPC endpoint, the contract's roles and the credentials.

Criterion ids live here so the suite and the probes agree on one name per claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivv.contract.document import Contract
from ivv.rpc.auth import Credentials
from ivv.security.wire import Conn, Transcript

AUTH_ENFORCED = "security.auth_enforced"
SESSION_ISOLATION = "security.session_isolation"
NO_DEFAULT_CREDENTIALS = "security.no_default_credentials"
LEAST_EXPOSURE = "security.least_exposure"
ERROR_DISCLOSURE = "security.error_disclosure"
REQUEST_LIMITS = "security.request_limits"
PATH_TRAVERSAL = "security.path_traversal"

READ_ONLY_PREFIXES = ("get_", "list_")
READ_ONLY_NAMES = ("ping",)


@dataclass
class Surface:
    """Where and how to attack. `auth_method`/`auth_param` name the contract's login call."""

    rpc_url: str
    contract: Contract
    credentials: Credentials
    timeout: float = 5.0
    auth_method: str = "authenticate"
    auth_param: str = "auth_token"
    verify_tls: bool = False
    leeway_s: float | None = None  # clock-skew allowance the profile states for exp/nbf (None: not stated)
    notes: list[str] = field(default_factory=list)

    def connect(self, name: str, transcript: Transcript) -> Conn:
        return Conn(self.rpc_url, name, transcript, timeout=self.timeout, verify_tls=self.verify_tls)

    @property
    def roles(self) -> tuple[str, ...]:
        return self.contract.roles

    def protected_methods(self) -> list[str]:
        """Every method that needs some role (the login call and public methods excluded)."""
        return [name for name, m in self.contract.methods.items()
                if name != self.auth_method and (m.role is not None or m.allowed_roles)]

    def read_only_method(self, role: str, exact: bool = True) -> str | None:
        """A method needing `role` that has no required params and only reads (ping, get_*, list_*)."""
        candidates = []
        for name, m in self.contract.methods.items():
            if name == self.auth_method or m.required_params:
                continue
            if not (name in READ_ONLY_NAMES or name.startswith(READ_ONLY_PREFIXES)):
                continue
            least = self.contract.least_role(name)
            if least is None:
                continue
            if least == role or (not exact and self.contract.allows(name, role)):
                candidates.append(name)
        return sorted(candidates, key=lambda n: (n not in READ_ONLY_NAMES, n))[0] if candidates else None

    def lowest_method(self) -> str | None:
        """The cheapest protected read-only method: what a session must not reach without credentials."""
        for role in self.roles:
            name = self.read_only_method(role)
            if name:
                return name
        return None

    def token(self, role: str) -> str:
        return self.credentials.token(role)
