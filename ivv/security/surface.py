"""The attack surface a probe works on: the RPC endpoint, the contract's roles and the credentials, the
documented refusal of each reason (`refusal`) and valid params with real values (`valid_params`).

Criterion ids live here so the suite and the probes agree on one name per claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ivv.contract.document import READ_ONLY_NAMES, READ_ONLY_PREFIXES, Contract  # noqa: F401 - named here too
from ivv.contract.params import valid_params
from ivv.contract.probe import Probe, produce
from ivv.rpc.auth import Credentials
from ivv.rpc.refusals import Refusal, refusals
from ivv.security.wire import Conn, Transcript

AUTH_ENFORCED = "security.auth_enforced"
SESSION_ISOLATION = "security.session_isolation"
NO_DEFAULT_CREDENTIALS = "security.no_default_credentials"
LEAST_EXPOSURE = "security.least_exposure"
ERROR_DISCLOSURE = "security.error_disclosure"
REQUEST_LIMITS = "security.request_limits"
PATH_TRAVERSAL = "security.path_traversal"



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
    profile_codes: dict[str, int] = field(default_factory=dict)  # reason -> a code the profile names
    _probe: Probe | None = field(default=None, init=False, repr=False)

    def refusal(self, reason: str) -> Refusal:
        """The documented refusal for `reason` (ivv.rpc.refusals): what a probe must see, not any error."""
        return refusals(self.contract.error_codes, self.profile_codes)[reason]

    @property
    def probe(self) -> Probe:
        """The contract checks' view of the same service, prepared once: one real instance of each thing
        the service keeps and the values it returned, so calls can carry valid params."""
        if self._probe is None:
            self._probe = Probe(self.rpc_url, self.contract, self.credentials, timeout=self.timeout,
                                client_options={"verify_tls": self.verify_tls}, auth_method=self.auth_method,
                                auth_param=self.auth_param)
            produce(self._probe)
        return self._probe

    def valid_params(self, method: str) -> dict:
        """Params of `method` the contract accepts, with real values the service returned."""
        return valid_params(self.contract.method(method), self.probe.observed)

    def connect(self, name: str, transcript: Transcript) -> Conn:
        return Conn(self.rpc_url, name, transcript, timeout=self.timeout, verify_tls=self.verify_tls)

    @property
    def roles(self) -> tuple[str, ...]:
        return self.contract.roles

    def protected_methods(self) -> list[str]:
        """Every method that needs some role (the login call and public methods excluded)."""
        return self.contract.protected_methods(self.auth_method)

    def read_only_method(self, role: str, exact: bool = True) -> str | None:
        """A method needing `role` that has no required params and only reads (ping, get_*, list_*)."""
        return self.contract.read_only_method(role, exact, self.auth_method)

    def lowest_method(self) -> str | None:
        """The cheapest protected read-only method: what a session must not reach without credentials."""
        return self.contract.lowest_method(self.auth_method)

    def token(self, role: str) -> str:
        return self.credentials.token(role)


def as_profiled(surface: Surface, profile) -> Surface:
    """The surface as the stack's profile describes it: tokens minted with its `auth.jwt` (algorithm and
    claim names) and the rate-limit code it names (`rpc.rate_limit.error_code`) beside the contract's."""
    rate = (profile.rpc.get("rate_limit") or {}).get("error_code")
    return replace(surface, credentials=surface.credentials.shaped(profile.auth.get("jwt")),
                   profile_codes={"rate": rate} if rate is not None else {})
