"""The auth matrix: every method x every credential kind (no token, expired, forged, alg none, not yet
valid, each role's token, API keys, a revoked key), each token also sent inside the call's own params on
a session that never logged in. The contract's role per method says who must be refused, and
`ivv.rpc.refusals` what the refusal must be (authentication without a valid identity, permission for a
role too low); `cell` decides one cell, `auth_grid` lays the cells out for the report."""

from __future__ import annotations

from ivv.contract.outcome import judge
from ivv.contract.params import valid_params
from ivv.contract.probe import Probe, harvest
from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.auth import Credentials
from ivv.rpc.client import Reply, RpcClient, RpcError
from ivv.rpc.refusals import AUTHENTICATION, PERMISSION, Refusal, judge_login, refusals

Row = Fact | Undecided


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


def auth_matrix(probe: Probe, methods: list[str] | None = None, token_in_params: bool = True) -> list[Row]:
    """Every method x every credential kind; a success where the contract refuses is a FAIL, and so is
    any refusal that is not the documented one for its reason (no valid identity: authentication; a role
    too low: permission), or an allowed call refused or answered with an internal error.

    Credentials are presented by logging the session in, the login judged by the protected call made
    right after it (`ivv.rpc.refusals.judge_login`); with ``token_in_params`` each token is also sent
    inside the call's own params (the per-call ``auth_token`` the API allows) on a session that never
    logged in, where a service that trusts a token without checking it would let the call through.
    """
    contract, creds = probe.contract, probe.credentials
    harvest(probe)
    names = methods or [m for m in contract.methods if m != probe.auth_method]
    follow = contract.lowest_method(probe.auth_method)
    if follow is None or not contract.protected_methods(probe.auth_method):
        return [Undecided("auth matrix", "the contract has no protected method, so no refusal can be observed")]
    reasons = refusals(contract.error_codes)
    rows: list[Row] = []
    for kind in credential_kinds(creds):
        token, role = _credential(creds, kind)
        try:
            cli, auth_reply = probe.session(token)
        except RpcError as exc:
            rows.append(Fact(f"{probe.auth_method} x {kind}", False, "a reply", f"no session: {exc}"))
            continue
        try:
            if token is not None:
                rows += _login_rows(probe, cli, kind, role, auth_reply, follow, reasons[AUTHENTICATION])
            rows += _role_calls(probe, cli, token, role, kind, names, None, reasons)
        finally:
            cli.close()
        if token_in_params and token is not None:
            try:
                cli = probe.client()
            except RpcError as exc:
                rows.append(Fact(f"{kind} in params", False, "a session", f"no session: {exc}"))
                continue
            with cli:
                rows += _role_calls(probe, cli, None, role, f"{kind} in params", names, token, reasons)
    probe.undo()
    return rows


def _login_rows(probe: Probe, cli: RpcClient, kind: str, role: str | None, auth_reply, follow: str,
                refusal: Refusal) -> list[Fact]:
    """The login row of one credential: a valid one accepted (the protected call after it answers), any
    other refused as documented; a refusal shaped as a success is a FAIL of its own."""
    login = Reply(probe.auth_method, auth_reply, cli.exchanges[-1] if cli.exchanges else None)
    after = probe.reply(cli, follow, valid_params(probe.contract.method(follow), probe.observed))
    exchanges = tuple(e.as_dict() for e in cli.exchanges[-2:])
    name, details = f"{probe.auth_method} x {kind}", {"method": probe.auth_method, "credential": kind}
    if role is not None:
        accepted = login.ok and after.ok
        return [Fact(name, accepted, "accepted", "accepted" if accepted else f"not accepted: {login.summary()}; "
                     f"{follow} after it: {after.summary()}", exchanges=exchanges, details=details)]
    outcome = judge_login(refusal, login, after, follow)
    rows = [Fact(name, outcome.refused and not outcome.problems, refusal.text,
                 "refused" if outcome.refused and not outcome.problems else
                 ("ACCEPTED: " if outcome.accepted else "") + "; ".join(outcome.problems or (outcome.observed,)),
                 exchanges=exchanges, details=details)]
    if outcome.success_shaped and not outcome.accepted:
        rows.append(Fact(f"{name}: failed login answered as a success result", False,
                         f"an error ({refusal.text})", outcome.observed, exchanges=exchanges, details=details))
    return rows


def cell(contract, reasons: dict[str, Refusal], name: str, role: str | None, reply: Reply) -> tuple[bool, str, str]:
    """(passed, expected, observed) of one matrix cell: `name` called with the identity of `role`."""
    if contract.allows(name, role):
        if any(reasons[r].matches(reply) for r in (AUTHENTICATION, PERMISSION)):
            return False, "allowed", f"refused: {reply.summary()}"
        if reply.lost or reply.timeout:
            return False, "allowed", f"no reply: {reply.summary()}"
        if reply.ok:  # what the result holds is conformance's to judge; here it is enough that it came
            return True, "allowed", "succeeded"
        outcome = judge(contract, name, reply.frame, params_valid=True, strict=True)
        return outcome.passed, "allowed", outcome.detail
    refusal = reasons[AUTHENTICATION if role is None else PERMISSION]
    passed, observed = refusal.judge(reply)
    if reply.ok:
        observed = f"SUCCEEDED: {name} answered with a result"
    return passed, refusal.text, observed


def _role_calls(probe: Probe, cli: RpcClient, token: str | None, role: str | None, kind: str, names: list[str],
                param_token: str | None, reasons: dict[str, Refusal]) -> list[Row]:
    """One call per method on ``cli``, judged against the contract's role for ``role``."""
    contract = probe.contract
    rows: list[Row] = []
    for name in names:
        params = dict(valid_params(contract.method(name), probe.observed))
        if param_token is not None:
            params[probe.auth_param] = param_token
        if not cli.connected:
            try:
                cli, _ = probe.session(token)
            except RpcError as exc:
                rows.append(Fact(f"{name} x {kind}", False, "a session", f"no session: {exc}",
                                 details={"method": name, "credential": kind}))
                continue
        reply = probe.reply(cli, name, params)
        refusal = reasons[AUTHENTICATION if role is None else PERMISSION]
        details = {"method": name, "credential": kind}
        if not contract.allows(name, role) and not refusal.documented:
            rows.append(Undecided(f"{name} x {kind}", f"the contract documents no {refusal.reason} refusal, so "
                                  "a refusal cannot be told from any other error", details))
            continue
        passed, expected, observed = cell(contract, reasons, name, role, reply)
        rows.append(Fact(f"{name} x {kind}", passed, expected, observed,
                         exchanges=(reply.exchange.as_dict(),) if reply.exchange else (), details=details))
    return rows


def auth_failures(rows: list[Row]) -> list[str]:
    """FAIL rows as 'method accepted credential: exact request' (secrets redacted)."""
    out = []
    for r in rows:
        if isinstance(r, Fact) and not r.passed:
            sent = r.exchanges[0]["sent"] if r.exchanges else ""
            out.append(f"{r.details.get('method', r.name)} with {r.details.get('credential', '?')}: "
                       f"expected {r.expected}, observed {r.observed}; request {sent}")
    return out



def auth_grid(rows: list[Row], contract, kinds: list[str]) -> dict:
    """Methods down, credentials across: 'allowed' / 'refused CODE' / 'FAIL ...' per cell."""
    cells = {(r.details.get("method"), r.details.get("credential")): r for r in rows if isinstance(r, Fact)}
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
