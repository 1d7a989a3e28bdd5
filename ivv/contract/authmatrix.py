"""The auth matrix: every method x every credential kind (no token, expired, forged, alg none, not yet
valid, each role's token, API keys, a revoked key), each token also sent inside the call's own params on
a session that never logged in. The contract's role per method says who must be refused."""

from __future__ import annotations

from ivv.contract.params import valid_params
from ivv.contract.probe import Probe, harvest
from ivv.evidence.facts import Fact
from ivv.rpc.auth import Credentials
from ivv.rpc.client import RpcClient, RpcConnectionLost, RpcError, RpcTimeout


def credential_kinds(creds: Credentials) -> list[str]:
    kinds = ["no_token", "expired", "forged", "alg_none", "not_yet_valid", *creds.roles]
    if creds.revoked_api_key:
        kinds.append("revoked_api_key")
    kinds += [f"api_key:{r}" for r in creds.roles if creds.api_key(r)]
    return kinds


def _credential(creds: Credentials, kind: str) -> tuple[str | None, str | None]:
    """(token, effective role) for a kind; effective role None means no valid identity."""
    if kind in creds.roles:
        return creds.token(kind), kind
    if kind.startswith("api_key:"):
        role = kind.split(":", 1)[1]
        return creds.api_key(role), role
    return creds.bad(kind, "admin"), None


def auth_matrix(probe: Probe, methods: list[str] | None = None, token_in_params: bool = True) -> list[Fact]:
    """Every method x every credential kind; a success where the contract refuses is a FAIL.

    Credentials are presented by logging the session in; with ``token_in_params`` each token is also
    sent inside the call's own params (the per-call ``auth_token`` the API allows) on a session that never
    logged in, where a service that trusts a token without checking it would let the call through.
    """
    contract, creds = probe.contract, probe.credentials
    harvest(probe)
    names = methods or [m for m in contract.methods if m != probe.auth_method]
    rows: list[Fact] = []
    for kind in credential_kinds(creds):
        token, role = _credential(creds, kind)
        try:
            cli, auth_reply = probe.session(token)
        except RpcError as exc:
            rows.append(Fact(f"{probe.auth_method} x {kind}", False, "a reply", f"no session: {exc}"))
            continue
        try:
            if token is not None:
                accepted = isinstance(auth_reply, dict) and "result" in auth_reply
                want = role is not None
                rows.append(Fact(f"{probe.auth_method} x {kind}", accepted == want, "accepted" if want else "refused",
                                 "accepted" if accepted else f"refused ({(auth_reply or {}).get('error')})",
                                 exchanges=(cli.exchanges[-1].as_dict(),),
                                 details={"method": probe.auth_method, "credential": kind}))
            rows += _role_calls(probe, cli, token, role, kind, names, None)
        finally:
            cli.close()
        if token_in_params and token is not None:
            try:
                cli = probe.client()
            except RpcError as exc:
                rows.append(Fact(f"{kind} in params", False, "a session", f"no session: {exc}"))
                continue
            with cli:
                rows += _role_calls(probe, cli, None, role, f"{kind} in params", names, token)
    _undo_side_effects(probe)
    return rows


def _role_calls(probe: Probe, cli: RpcClient, token: str | None, role: str | None, kind: str, names: list[str],
                param_token: str | None) -> list[Fact]:
    """One call per method on ``cli``, judged against the contract's role for ``role``."""
    contract = probe.contract
    refusal = {c for c in (contract.code_for("auth"), contract.code_for("permission")) if c is not None}
    rows = []
    for name in names:
        allowed = contract.allows(name, role)
        params = dict(valid_params(contract.method(name), probe.observed))
        if param_token is not None:
            params[probe.auth_param] = param_token
        try:
            if not cli.connected:
                cli, _ = probe.session(token)
            resp = probe.call(cli, name, params)
        except (RpcTimeout, RpcConnectionLost) as exc:
            rows.append(Fact(f"{name} x {kind}", False, "allowed" if allowed else "refused", f"no reply: {exc}",
                             exchanges=tuple(e.as_dict() for e in cli.exchanges[-1:]),
                             details={"method": name, "credential": kind}))
            continue
        code = resp.error_code
        refused = code in refusal
        if allowed:
            passed = not refused
            observed = "succeeded" if resp.ok else (f"refused with {code}" if refused
                                                    else f"error {code} (not an auth refusal)")
        else:
            passed = not resp.ok
            observed = f"SUCCEEDED: {name} answered {kind} with a result" if resp.ok else f"refused with {code}"
        rows.append(Fact(f"{name} x {kind}", passed, "allowed" if allowed else "refused", observed,
                         exchanges=(resp.exchange.as_dict(),),
                         details={"method": name, "credential": kind, "refused_code_documented": refused or code is None}))
    return rows


def _undo_side_effects(probe: Probe) -> None:
    """Stop what the matrix started (start_x -> stop_x with the same params), best effort."""
    contract = probe.contract
    cli = probe.top_role_session()
    if cli is None:
        return
    with cli:
        for name in contract.methods:
            if name.startswith("start_") and ("stop_" + name[6:]) in contract.methods:
                stop = contract.method("stop_" + name[6:])
                try:
                    cli.call(stop.name, valid_params(stop, probe.observed))
                except RpcError:
                    pass


def auth_failures(rows: list[Fact]) -> list[str]:
    """FAIL rows as 'method accepted credential: exact request' (secrets redacted)."""
    out = []
    for r in rows:
        if not r.passed:
            sent = r.exchanges[0]["sent"] if r.exchanges else ""
            out.append(f"{r.details.get('method', r.name)} with {r.details.get('credential', '?')}: "
                       f"expected {r.expected}, observed {r.observed}; request {sent}")
    return out



def auth_grid(rows: list[Fact], contract, kinds: list[str]) -> dict:
    """Methods down, credentials across: 'allowed' / 'refused CODE' / 'FAIL ...' per cell."""
    cells = {(r.details.get("method"), r.details.get("credential")): r for r in rows}
    methods = list(dict.fromkeys(r.details.get("method") for r in rows if r.details.get("method")))
    out = []
    for m in methods:
        line = [m, str(contract.least_role(m) or "none")]
        for k in kinds:
            r = cells.get((m, k))
            line.append("-" if r is None else (r.observed.split(":")[0][:24] if r.passed else "FAIL " + r.observed[:60]))
        in_params = [r for (method, cred), r in cells.items() if method == m and cred.endswith(" in params")]
        bad = [r.details["credential"] for r in in_params if not r.passed]
        line.append("-" if not in_params else (f"{len(in_params)} as expected" if not bad else "FAIL " + ", ".join(bad)))
        out.append(line)
    return {"columns": ["method", "least role", *kinds, "token in params"], "rows": out}
