"""API protocols as plug-ins: one `Protocol` per kind of API a stack speaks (JSON-RPC over WebSocket,
HTTP/REST described by OpenAPI), chosen by the profile's `api.kind`. The contract and security suites call
the checks through this interface only, so no suite knows which protocol it talks.

- `base`: the `Protocol` interface, `CheckResult` and `Matrix` (the one path from a check to evidence),
  and the registry (`register_protocol`, `protocol_of`).
- `jsonrpc`: JSON-RPC 2.0 over WebSocket, checked against an OpenRPC contract.
- `http`: HTTP/REST, checked against an OpenAPI document with schemathesis.
"""

from ivv.protocols.base import PROTOCOLS, CheckResult, Matrix, Protocol, protocol_of, register_protocol

__all__ = ["PROTOCOLS", "CheckResult", "Matrix", "Protocol", "protocol_of", "register_protocol"]
