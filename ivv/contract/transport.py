"""Transport checks that need a JSON-RPC session: an authenticated wss:// session with the certificate
verified, and a plain ws:// handshake on the TLS port refused (the certificate facts are ivv.rpc.tls)."""

from __future__ import annotations

import json

from ivv.contract.probe import Probe
from ivv.evidence.facts import Fact
from ivv.rpc.client import RpcClient, RpcConnectError, RpcError


def plain_ws_refused(host: str, port: int, path: str, timeout: float = 3.0) -> Fact:
    """A plain ws:// handshake on the TLS port must not reach a JSON-RPC session."""
    url = f"ws://{host}:{port}{path}"
    try:
        cli = RpcClient(url, timeout=timeout, connect_timeout=timeout).connect()
    except RpcConnectError as exc:
        return Fact("plain ws:// refused", True, "handshake fails", f"refused: {exc}")
    with cli:
        try:
            resp = cli.call("ping", None)
            observed = f"plain ws:// session answered: {json.dumps(resp.frame)[:200]}"
        except RpcError as exc:
            observed = f"connected, then {exc}"
    return Fact("plain ws:// refused", False, "handshake fails", observed,
                exchanges=tuple(e.as_dict() for e in cli.exchanges))


def wss_works(probe: Probe) -> Fact:
    try:
        cli = probe.role_session(probe.contract.roles[0])
    except RpcError as exc:
        return Fact("wss:// session", False, "authenticated session", f"failed: {exc}")
    with cli:
        info = cli.tls_info
        return Fact("wss:// session", bool(info), "authenticated session over TLS",
                    f"{info.get('version')} {info.get('cipher', [''])[0]}",
                    exchanges=tuple(e.as_dict() for e in cli.exchanges), details={"tls": info})
