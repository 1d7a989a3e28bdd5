"""HTTP/REST described by OpenAPI (`api.kind: http`): the profile's `contract` is an OpenAPI 3 document;
conformance, fuzzing and the auth matrix run on schemathesis (`ivv.contract.openapi`), the compliance
matrix is `contract.http_compliance` (routing, methods, bodies, media types, negotiation).

Each check sends the credentials of the profile's most privileged role as a bearer token (a JWT signed
with the stack's secret, minted per test) on a connection pool of its own: over HTTP a session is the
token each request carries, and keep-alive connections are kept between requests; session isolation is
clients with different tokens taking turns, each with its own pool and cookies
(`ivv.security.openapi_sessions`).
"""

from __future__ import annotations

import requests
import urllib3

from ivv.contract import openapi
from ivv.contract.http_compliance import http_compliance
from ivv.errors import ProfileError
from ivv.protocols.base import CheckResult, Matrix, Protocol, register_protocol
from ivv.security.openapi_auth import auth_matrix
from ivv.security.openapi_sessions import isolation_probe

COLUMNS = ("operation", "expected", "observed", "verdict")


@register_protocol
class Http(Protocol):
    kind = "http"
    schemes = ("http", "https")
    offers = frozenset({"conformance", "http_compliance", "fuzz", "auth_matrix", "session_isolation"})

    def __init__(self, stack, setting):
        super().__init__(stack, setting)
        self._spec = None

    @property
    def spec(self):
        """The OpenAPI document, read once per session."""
        if self._spec is None:
            path = self.stack.profile.contract_path
            if path is None:
                raise ProfileError(f"{self.stack.profile.path}: api.kind http needs `contract`: an OpenAPI document")
            self._spec = openapi.load_spec(path)
        return self._spec

    @property
    def role(self) -> str:
        creds = self.credentials or self.stack.credentials()
        return creds.roles[-1]

    def headers(self) -> dict:
        creds = self.credentials or self.stack.credentials()
        return {"Authorization": f"Bearer {creds.token(self.role)}"}

    @property
    def base_url(self) -> str:
        return self.stack.api.url.rstrip("/")

    @property
    def verify(self) -> bool | str:
        """requests' TLS verification, as for every protocol: the API's CA file when it verifies with one,
        the system store when it verifies without, none when it does not (a device's own certificate is
        the transport check's to judge, not a reason to leave the API unchecked)."""
        api = self.stack.api
        if not api.verify_tls:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)   # said here, once
            return False
        return api.ca_file or True

    def call(self, operation: str, body=None, role: str | None = None) -> dict | None:
        """One operation ("METHOD /path", JSON `body`) with `role`'s token (default: the most privileged);
        the answer's JSON. An answer outside 2xx raises OSError naming the operation and the status."""
        creds = self.credentials or self.stack.credentials()
        role = role or creds.roles[-1]
        method, path = operation.split(" ", 1)
        answer = requests.request(method, self.base_url + path, json=body, timeout=60, verify=self.verify,
                                  headers={"Authorization": f"Bearer {creds.token(role)}"})
        if not 200 <= answer.status_code < 300:
            raise OSError(f"{operation} as {role} answered {answer.status_code}: {answer.text[:200]}")
        return answer.json() if answer.content else None

    def write_data(self, device: str) -> list[dict]:
        """The profile's `api.user_data` calls in order, each with its role's token; an answer outside
        2xx raises (the caller records it: data the API refused to write is no data to preserve)."""
        calls = (self.stack.profile.data.get("api") or {}).get("user_data")
        if not calls:
            raise NotImplementedError(f"{self.stack.profile.path}: api.user_data names no call that writes data")
        return [{c["operation"]: self.call(c["operation"], c.get("body"), c.get("role"))} for c in calls]

    def conformance(self) -> CheckResult:
        rows = openapi.conformance(self.spec, self.base_url, self.headers(),
                                   examples=int(self.setting("conformance_examples", 5)), verify=self.verify)
        return CheckResult([Matrix("operation conformance", rows, "conformance-exchanges.txt", COLUMNS)])

    def compliance(self) -> CheckResult:
        rows = http_compliance(self.spec, self.base_url, self.headers(),
                               timeout=float(self.setting("call_timeout_s", 10)), verify=self.verify)
        return CheckResult([Matrix("HTTP compliance matrix", rows, "compliance-exchanges.txt")])

    def fuzz(self) -> CheckResult:
        rows = openapi.fuzz(self.spec, self.base_url, self.headers(),
                            examples=int(self.setting("fuzz_examples", 50)), verify=self.verify)
        return CheckResult([Matrix("requests the spec forbids", rows, "fuzz-exchanges.txt", COLUMNS)])

    def auth_matrix(self) -> CheckResult:
        creds = self.credentials or self.stack.credentials()
        rows = auth_matrix(self.spec, self.base_url, self.headers(), jwt_secret=creds.jwt_secret, role=self.role,
                           timeout=float(self.setting("call_timeout_s", 10)), roles=tuple(creds.roles),
                           token_for=creds.token, key_for=creds.api_keys.get, revoked_key=creds.revoked_api_key,
                           verify=self.verify)
        return CheckResult([Matrix("auth matrix", rows, "auth-exchanges.txt")])

    def session_isolation(self) -> CheckResult:
        creds = self.credentials or self.stack.credentials()
        return CheckResult(facts=[isolation_probe(self.spec, self.base_url, tuple(creds.roles), creds.token,
                                                  timeout=float(self.setting("call_timeout_s", 10)),
                                                  verify=self.verify)])
