"""The API a stack speaks, as one value: the protocol, the URL, TLS, and how a session logs in.

The profile names the protocol (`api.kind`, default `jsonrpc-ws`: JSON-RPC 2.0 over WebSocket, the
`rpc` section); `register_protocol` maps each name to the function that opens a client, so another
protocol (HTTP/REST) plugs in beside `ivv.rpc` and the suites never branch on protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ivv.errors import ProfileError

PROTOCOLS: dict[str, Callable] = {}


def register_protocol(name: str) -> Callable[[Callable], Callable]:
    """Decorator: `connect(endpoint, timeout, **options)` for protocol `name`; a name is registered once."""
    def decorate(connect: Callable) -> Callable:
        if name in PROTOCOLS:
            raise ValueError(f"protocol {name!r} is already registered ({PROTOCOLS[name].__qualname__})")
        PROTOCOLS[name] = connect
        return connect
    return decorate


@register_protocol("jsonrpc-ws")
def _jsonrpc_ws(endpoint: ApiEndpoint, timeout: float = 10.0, **options):
    from ivv.rpc.client import RpcClient

    return RpcClient(endpoint.url, timeout=timeout, **{**endpoint.client_options, **options}).connect()


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
        kind = (profile.data.get("api") or {}).get("kind", "jsonrpc-ws")
        if kind not in PROTOCOLS:
            raise ProfileError(f"{profile.path}: api.kind {kind!r} is not one of {', '.join(PROTOCOLS)}")
        login = profile.auth.get("login", {})
        return cls(kind, profile.rpc_url(host, port, environment), profile.tls(environment),
                   login_method=login.get("method", "authenticate"), login_param=login.get("param", "auth_token"))

    @property
    def client_options(self) -> dict:
        return {"verify_tls": self.verify_tls, "ca_file": self.ca_file, "server_name": self.server_name}

    def client(self, timeout: float = 10.0, **options):
        """A connected client of this API's protocol (not logged in)."""
        return PROTOCOLS[self.protocol](self, timeout=timeout, **options)
