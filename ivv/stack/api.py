"""The API a stack speaks, as one value: the protocol, the URL, TLS, and how a session logs in.

The profile names the protocol (`api.kind`, default `jsonrpc-ws`: JSON-RPC 2.0 over WebSocket; `http`:
REST described by OpenAPI); `ivv.protocols` holds one implementation per kind, which opens clients and
runs the contract and security checks, so the suites never branch on protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivv.protocols.base import protocol_of


@dataclass(frozen=True)
class ApiEndpoint:
    """Where and how to talk to a stack's API."""

    protocol: str
    url: str
    tls: bool = False
    verify_tls: bool = False          # a device's own certificate: the transport check judges it
    ca_file: str | None = None
    server_name: str | None = None
    login_method: str = "authenticate"
    login_param: str = "auth_token"

    @classmethod
    def from_profile(cls, profile, host: str, port: int, environment: str | None) -> ApiEndpoint:
        protocol = protocol_of(profile)
        login = profile.auth.get("login", {})
        return cls(protocol.kind, profile.rpc_url(host, port, environment, protocol.schemes), profile.tls(environment),
                   login_method=login.get("method", "authenticate"), login_param=login.get("param", "auth_token"))

    @property
    def client_options(self) -> dict:
        return {"verify_tls": self.verify_tls, "ca_file": self.ca_file, "server_name": self.server_name}

    def client(self, timeout: float = 10.0, **options):
        """A connected client of this API's protocol (not logged in)."""
        from ivv.protocols.base import PROTOCOLS

        return PROTOCOLS[self.protocol].connect(self, timeout=timeout, **options)
