"""Conformance: every method called with valid params (its examples, values the service returned,
hypothesis-generated ones) by the least role allowed; every result must validate against the contract's
result schema, and every method must answer a valid call with a result at least once (an internal error
or an undocumented code is never conformance; see `ivv.contract.outcome`). Also which contract methods the
service lacks (method not found, never a result), which answer with results that break their schema
(reported apart: they are present), and which methods it answers that the contract does not name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivv.contract.document import Method
from ivv.contract.outcome import INVALID_RESULT, NOT_FOUND, judge
from ivv.contract.params import harvested_params, producers_first, schema_strategy
from ivv.contract.probe import Probe, produce
from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.auth import redact_text
from ivv.rpc.client import METHOD_NOT_FOUND, RpcClient, RpcError


@dataclass
class ConformanceResult:
    rows: list[Fact | Undecided]
    violations: list[dict]
    missing: list[str]  # in the contract, the service answers method-not-found and never a result
    extra: list[str]  # answered by the service, absent from the contract
    calls: int = 0
    nonconforming: list[str] = field(default_factory=list)  # present, but results break their schema

    def facts(self) -> list[Fact | Undecided]:
        """The schema violations (when there are any) and which methods are present, as facts."""
        if self.calls == 0:
            return [Undecided("methods present on the service", "no call was answered, so nothing was observed")]
        out: list[Fact | Undecided] = []
        if self.violations:
            out.append(Fact("result schema violations", False, "none",
                            f"{len(self.violations)} violation(s) in {', '.join(self.nonconforming)}",
                            details={"table": {"title": "result schema violations",
                                               "columns": ["method", "JSON path", "rule", "message", "request"],
                                               "rows": [[v["method"], v["path"], v["rule"], v["message"][:200],
                                                         v["request"][:300]] for v in self.violations[:50]]}}))
        out.append(Fact("methods present on the service", not self.missing and not self.extra,
                        "every contract method answers; no undocumented method answers",
                        f"missing (method not found) {self.missing or 'none'}; extra {self.extra or 'none'}"
                        + (f"; present but answering with results that break their schema: {self.nonconforming}"
                           if self.nonconforming else "")))
        return out


def method_row(name: str, expected: str, seen: list[dict]) -> Fact | Undecided:
    """The conformance of one method from its calls (each {"outcome": Outcome | None, "problem", "exchange"}):
    a problem (an undocumented or internal error, an invalid result, no reply) is a FAIL, and so is a method
    that never answered a valid call with a result; a method no call reached is not verified."""
    answered = [e for e in seen if e.get("outcome") is not None]
    if not answered:
        return Undecided(name, f"{len(seen)} call(s), none answered: nothing to judge",
                         {"calls": len(seen)})
    bad = [e for e in seen if e.get("outcome") is None or not e["outcome"].passed]
    results = [e for e in answered if e["outcome"].is_result]
    errors = [e for e in answered if not e["outcome"].is_result]
    observed = f"{len(seen)} calls, {len(results)} results checked, {len(errors)} errors"
    if bad:
        first = bad[0]
        observed += f"; first problem: {first['outcome'].detail if first.get('outcome') else first['problem']}"
    elif not results:
        observed += "; never answered with a result"
    passed = not bad and bool(results)
    return Fact(name, passed, expected, observed,
                exchanges=tuple(e["exchange"] for e in (bad or seen)[:3] if e.get("exchange")),
                details={"calls": len(seen), "results": len(results)})


COMMON_EXTRA_NAMES = ("rpc.discover", "system.listMethods", "list_methods", "help", "debug", "eval", "exec",
                      "shutdown", "reboot", "restart", "get_config", "set_config", "update_config", "admin",
                      "get_logs", "reset", "factory_reset", "upload_firmware", "get_users", "create_user")


def conformance(probe: Probe, *, generated: int = 5, extra_names: tuple[str, ...] = (),
                seed: int = 0) -> ConformanceResult:
    """Call every method with its examples and hypothesis-generated valid params by its least role;
    every result must validate against the contract's result schema."""
    contract = probe.contract
    produce(probe)  # one real instance of each thing, so methods that read or delete one can answer
    rows: list[Fact | Undecided] = []
    violations: list[dict] = []
    missing: list[str] = []
    nonconforming: list[str] = []
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
        for m in producers_first(contract):
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
                    seen.append({"origin": origin, "outcome": None, "problem": f"no reply: {exc}",
                                 "exchange": cli.exchanges[-1].as_dict() if cli.exchanges else None})
                    return
                calls += 1
                outcome = judge(contract, m.name, resp.frame, params_valid=True, strict=True)
                seen.append({"origin": origin, "outcome": outcome, "exchange": resp.exchange.as_dict()})
                violations.extend(dict(v.as_dict(), origin=origin, request=redact_text(resp.exchange.sent))
                                  for v in outcome.violations)

            for ex in m.examples:
                check(ex["params"], f"example {ex['name']!r}")
            for params in harvested_params(m, probe.observed):
                check(params, "from schema with values the service returned")
            if generated > 0:
                _generated(m, check, generated, seed)()
            kinds = {e["outcome"].kind for e in seen if e.get("outcome") is not None}
            if NOT_FOUND in kinds and not any(e["outcome"].is_result for e in seen if e.get("outcome")):
                missing.append(m.name)
            if INVALID_RESULT in kinds:
                nonconforming.append(m.name)
            rows.append(method_row(m.name, f"results valid ({role or 'no auth'})", seen))
        extra = _probe_extra(probe, session(contract.roles[-1]), extra_names)
    finally:
        for cli in sessions.values():
            cli.close()
    probe.observed.absent.update(missing)
    probe.observed.extra.update(extra)
    return ConformanceResult(rows, violations, missing, extra, calls, nonconforming)


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

