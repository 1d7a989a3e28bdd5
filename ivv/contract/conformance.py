"""Conformance: every method called with valid params (its examples, values the service returned,
hypothesis-generated ones) by the least role allowed; every result must validate against the contract's
result schema. Also which contract methods the service lacks and which methods it answers that the
contract does not name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivv.contract.document import Contract, Method
from ivv.contract.params import harvested_params, schema_strategy
from ivv.contract.probe import Probe
from ivv.evidence.facts import Fact
from ivv.rpc.auth import redact_text
from ivv.rpc.client import METHOD_NOT_FOUND, RpcClient, RpcError


@dataclass
class ConformanceResult:
    rows: list[Fact]
    violations: list[dict]
    missing: list[str]  # in the contract, the service answers method-not-found
    extra: list[str]  # answered by the service, absent from the contract
    calls: int = 0

    def facts(self) -> list[Fact]:
        """The schema violations (when there are any) and which methods are present, as facts."""
        out = []
        if self.violations:
            out.append(Fact("result schema violations", False, "none", f"{len(self.violations)} violation(s)",
                            details={"table": {"title": "result schema violations",
                                               "columns": ["method", "JSON path", "rule", "message", "request"],
                                               "rows": [[v["method"], v["path"], v["rule"], v["message"][:200],
                                                         v["request"][:300]] for v in self.violations[:50]]}}))
        out.append(Fact("methods present on the service", not self.missing and not self.extra,
                        "every contract method answers; no undocumented method answers",
                        f"missing {self.missing or 'none'}; extra {self.extra or 'none'}"))
        return out


COMMON_EXTRA_NAMES = ("rpc.discover", "system.listMethods", "list_methods", "help", "debug", "eval", "exec",
                      "shutdown", "reboot", "restart", "get_config", "set_config", "update_config", "admin",
                      "get_logs", "reset", "factory_reset", "upload_firmware", "get_users", "create_user")


def _order(contract: Contract) -> list[Method]:
    """Producers before consumers: creating calls first, deleting calls last."""
    def rank(m: Method) -> int:
        n = m.name
        if n.startswith(("take_", "start_", "get_camera")):
            return 0
        return 1 if n.startswith("stop_") else (3 if n.startswith(("delete_", "cleanup_")) else 2)
    return sorted((m for m in contract.methods.values()), key=rank)


def conformance(probe: Probe, *, generated: int = 5, extra_names: tuple[str, ...] = (),
                seed: int = 0) -> ConformanceResult:
    """Call every method with its examples and hypothesis-generated valid params by its least role;
    every result must validate against the contract's result schema."""
    contract = probe.contract
    rows: list[Fact] = []
    violations: list[dict] = []
    missing: list[str] = []
    calls = 0
    sessions: dict[str, RpcClient] = {}

    def session(role: str | None) -> RpcClient:
        key = role or ""
        cli = sessions.get(key)
        if cli is None or not cli.connected:
            cli = probe.role_session(role) if role else probe.client()
            sessions[key] = cli
        return cli

    try:
        for m in _order(contract):
            if m.name == probe.auth_method:
                continue
            role = contract.least_role(m.name)
            seen: list[dict] = []

            def check(params: Any, origin: str, m=m, role=role, seen=seen) -> None:
                nonlocal calls
                cli = session(role)
                try:
                    resp = probe.call(cli, m.name, params)
                except RpcError as exc:
                    seen.append({"origin": origin, "outcome": f"no reply: {exc}", "ok": False,
                                 "exchange": cli.exchanges[-1].as_dict() if cli.exchanges else None})
                    return
                calls += 1
                entry = {"origin": origin, "exchange": resp.exchange.as_dict()}
                if resp.ok:
                    errs = contract.validate_result(m.name, resp.result)
                    entry.update(ok=not errs, outcome="result valid" if not errs else "; ".join(map(str, errs[:3])))
                    violations.extend(dict(v.as_dict(), origin=origin, request=redact_text(resp.exchange.sent))
                                      for v in errs)
                else:
                    code = resp.error_code
                    documented = code in contract.documented_codes(m.name)
                    entry.update(ok=documented and code != METHOD_NOT_FOUND, code=code,
                                 outcome=f"error {code}" + ("" if documented else " (undocumented)"))
                seen.append(entry)

            for ex in m.examples:
                check(ex["params"], f"example {ex['name']!r}")
            for params in harvested_params(m, probe.observed):
                check(params, "from schema with values the service returned")
            if generated > 0:
                _generated(m, check, generated, seed)()
            succeeded = [e for e in seen if e.get("outcome", "").startswith("result")]
            bad = [e for e in seen if not e.get("ok") and (e.get("code") is None or e.get("outcome", "").endswith("(undocumented)")
                                                          or e.get("code") == METHOD_NOT_FOUND)]
            if all(e.get("code") == METHOD_NOT_FOUND for e in seen if "code" in e) and not succeeded and seen:
                missing.append(m.name)
            observed = (f"{len(seen)} calls, {len(succeeded)} results checked, "
                        f"{sum(1 for e in seen if e.get('code') is not None)} documented errors")
            if bad:
                observed += f"; first problem: {bad[0]['outcome']}"
            rows.append(Fact(m.name, not bad, f"results valid ({role or 'no auth'})", observed,
                             exchanges=tuple(e["exchange"] for e in (bad or seen)[:3] if e.get("exchange")),
                             details={"calls": len(seen), "results": len(succeeded)}))
        extra = _probe_extra(probe, session(contract.roles[-1]), extra_names)
    finally:
        for cli in sessions.values():
            cli.close()
    probe.observed.absent.update(missing)
    probe.observed.extra.update(extra)
    return ConformanceResult(rows, violations, missing, extra, calls)


def _generated(m: Method, check: Callable, n: int, seed: int) -> Callable[[], None]:
    """A hypothesis run calling ``check`` with ``n`` params generated from the method's params schema."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(schema_strategy(m.params_schema))
    def generated_calls(params):
        check(params, "hypothesis")

    return generated_calls


def _probe_extra(probe: Probe, cli: RpcClient, names: tuple[str, ...]) -> list[str]:
    """Methods the service answers that the contract lacks (anything but method-not-found)."""
    found = []
    candidates = list(dict.fromkeys([*names, *COMMON_EXTRA_NAMES]))
    for name in candidates:
        if name in probe.contract.methods:
            continue
        try:
            resp = cli.call(name, {})
        except RpcError:
            continue
        if resp.error_code != METHOD_NOT_FOUND:
            found.append(name)
            if name == "rpc.discover" and resp.ok and isinstance(resp.result, dict):
                listed = {m.get("name") for m in resp.result.get("methods", []) if isinstance(m, dict)}
                found += sorted(n for n in listed - set(probe.contract.methods) if n)
    return found

