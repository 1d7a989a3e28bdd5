"""Transport security as facts: the TLS handshake and the certificate (from `ivv.rpc.tls.inspect`), an
authenticated wss:// session with the certificate verified, and a plain ws:// handshake on the TLS port
refused. `transport_facts` gives all four for one endpoint."""

from __future__ import annotations

import json

from ivv.contract.probe import Probe
from ivv.evidence.facts import Fact
from ivv.rpc.client import RpcClient, RpcConnectError, RpcError

PLAIN_REFUSED = "plain ws:// refused on the API port"
WSS_SESSION = "wss:// session, certificate verified"


def plain_ws_refused(host: str, port: int, path: str, timeout: float = 3.0) -> Fact:
    """A plain ws:// handshake on the TLS port must not reach a JSON-RPC session."""
    url = f"ws://{host}:{port}{path}"
    try:
        cli = RpcClient(url, timeout=timeout, connect_timeout=timeout).connect()
    except RpcConnectError as exc:
        return Fact(PLAIN_REFUSED, True, "handshake fails", f"refused: {exc}")
    with cli:
        try:
            resp = cli.call("ping", None)
            observed = f"plain ws:// session answered: {json.dumps(resp.frame)[:200]}"
        except RpcError as exc:
            observed = f"connected, then {exc}"
    return Fact(PLAIN_REFUSED, False, "handshake fails", observed,
                exchanges=tuple(e.as_dict() for e in cli.exchanges))


def wss_works(probe: Probe) -> Fact:
    try:
        cli = probe.role_session(probe.contract.roles[0])
    except RpcError as exc:
        return Fact(WSS_SESSION, False, "authenticated session", f"failed: {exc}")
    with cli:
        info = cli.tls_info
        return Fact(WSS_SESSION, bool(info), "authenticated session over TLS",
                    f"{info.get('version')} {info.get('cipher', [''])[0]}",
                    exchanges=tuple(e.as_dict() for e in cli.exchanges), details={"tls": info})


def handshake(facts: dict, context: dict) -> Fact:
    return Fact("TLS handshake on the API port", bool(facts["tls"]), "a TLS handshake",
                f"{facts['protocol']} {facts['cipher']}" if facts["tls"] else facts["handshake"], details=context)


def certificate(facts: dict, trust_source: str, context: dict) -> Fact:
    return Fact(f"certificate verifies for {facts['server_name']}", bool(facts["verified"]),
                f"chain and name verify against the {trust_source}",
                "verified" if facts["verified"] else facts.get("verify_error", "no TLS"),
                details={"certificate": facts.get("certificate"), **context})


def transport_facts(facts: dict, trust_source: str, context: dict, probe: Probe, host: str, port: int,
                    path: str) -> list[Fact]:
    """Handshake, certificate, an authenticated wss:// session and plain ws:// refused, for one endpoint
    (`facts`: what `ivv.rpc.tls.inspect` found there)."""
    return [handshake(facts, context), certificate(facts, trust_source, context), wss_works(probe),
            plain_ws_refused(host, port, path)]
