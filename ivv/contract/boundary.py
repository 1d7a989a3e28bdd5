"""The boundary pass: every constraint of every param's schema met from both sides, deterministically.

For each param and each constraint of its schema (minLength/maxLength, pattern, enum, minimum/maximum,
exclusive bounds, format, required) one call carries a value that breaks exactly that constraint (the
other params stay valid, and the contract's own validator confirms that this constraint alone is broken)
and must be refused; its control carries the value just inside (the edge itself: the minimum, the
maximum length; or a known valid value: the example, an enum member) and must be accepted, or the row
proves nothing and is NOT VERIFIED. Random fuzzing rarely lands on an edge; a service that checks types
but not the schema's own limits (an empty name where the pattern needs a character) shows here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ivv.contract.document import INPUT_REFUSALS, Method
from ivv.contract.outcome import judge
from ivv.contract.params import harvested_params, minimal_instance, producers_first, valid_params
from ivv.contract.probe import Probe, produce
from ivv.evidence.facts import Fact, Undecided, controlled
from ivv.rpc.client import Reply, RpcClient, RpcError

CONSTRAINTS = ("required", "minLength", "maxLength", "pattern", "enum", "minimum", "maximum",
               "exclusiveMinimum", "exclusiveMaximum", "format")
# Values a schema's pattern or format often admits (the first one the full schema accepts is the control).
INSIDE_STRINGS = ("ivv-boundary.jpg", "ivv-boundary", "x", "A", "1", "a1")
OUTSIDE_STRINGS = ("", " ", "ivv boundary/..", "-", "/", "..", "\u00e9", "x" * 300)
FORMATS = {  # format -> (a value outside it, a value inside it)
    "date-time": ("not-a-date-time", "2026-01-01T00:00:00Z"), "date": ("2026-13-45", "2026-01-01"),
    "time": ("25:61:00", "12:00:00Z"), "email": ("not-an-email", "ivv@example.com"),
    "ipv4": ("999.1.1.1", "192.0.2.1"), "ipv6": ("gggg::1", "2001:db8::1"),
    "uuid": ("not-a-uuid", "123e4567-e89b-12d3-a456-426614174000"),
    "uri": ("not a uri", "https://example.com/x"), "hostname": ("-bad-.host-", "camera.example.com"),
}


@dataclass(frozen=True)
class BoundaryCase:
    method: str
    param: str
    constraint: str
    outside: dict      # params breaking exactly `constraint` of `param`
    inside: dict | None  # params just inside it (the control), None when no valid value is known
    label: str         # the values, for the report

    @property
    def name(self) -> str:
        return f"{self.method}.{self.param} {self.constraint}"


def _numbers(schema: dict, key: str) -> tuple[Any, Any] | None:
    """(outside, inside) for a numeric bound: one step past it, and the bound itself (one step in when
    the bound is exclusive). A step is 1 for an integer, 0.5 for a number."""
    bound = schema[key]
    if not isinstance(bound, (int, float)) or isinstance(bound, bool):
        return None
    kinds = schema.get("type")
    step = 1 if kinds == "integer" or (isinstance(kinds, list) and "number" not in kinds) else 0.5
    return {"minimum": (bound - step, bound), "maximum": (bound + step, bound),
            "exclusiveMinimum": (bound, bound + step), "exclusiveMaximum": (bound, bound - step)}[key]


def _sized(seeds: list[str], length: int) -> list[str]:
    """Strings of exactly `length` characters made from each seed."""
    return [(seed * (length // len(seed) + 1))[:length] for seed in [*seeds, "x", "a", "0"] if seed]


def _candidates(schema: dict, constraint: str, base: Any) -> tuple[list, list]:
    """(values that may break `constraint`, values that may lie just inside it), best first."""
    given = [v for v in (base, schema.get("default"), *(schema.get("examples") or [])) if v is not None]
    strings = [v for v in given if isinstance(v, str)]
    if constraint in ("minLength", "maxLength"):
        n = schema[constraint]
        if not isinstance(n, int) or (constraint == "minLength" and n < 1):
            return [], []
        return _sized(strings, n - 1 if constraint == "minLength" else n + 1), _sized(strings, n)
    if constraint == "pattern":
        return list(OUTSIDE_STRINGS), [*strings, *INSIDE_STRINGS]
    if constraint == "enum":
        members = list(schema["enum"])
        inside = [base] if base in members else members[:1]
        return [f"{m}-ivv" for m in members if isinstance(m, str)] + ["ivv-not-a-member", -1, None], inside
    if constraint == "format":
        pair = FORMATS.get(schema["format"])
        return ([pair[0]], [*strings, pair[1]]) if pair else ([], [])
    pair = _numbers(schema, constraint)
    return ([pair[0]], [pair[1]]) if pair else ([], [])


def boundary_cases(contract, method: Method, base: dict) -> list[BoundaryCase]:
    """Every constraint of every param of `method`, each case checked with the contract's validator: the
    outside params break that constraint and nothing else, the inside params are valid."""
    props = method.params_schema.get("properties", {})
    out = []
    for param in sorted(props):
        schema = props[param] if isinstance(props[param], dict) else {}
        for constraint in CONSTRAINTS:
            if constraint == "required":
                if param not in method.required_params:
                    continue
                outside = {k: v for k, v in base.items() if k != param}
                inside = dict(base) if not contract.validate_params(method.name, base) else None
                if _only(contract, method.name, outside, "required"):
                    out.append(BoundaryCase(method.name, param, "required", outside, inside, f"{param} left out"))
                continue
            if constraint not in schema:
                continue
            breaking, within = _candidates(schema, constraint, base.get(param))
            outside = next((p for v in breaking if _only(contract, method.name, p := {**base, param: v}, constraint)),
                           None)
            if outside is None:
                continue  # no value breaks this constraint alone (another constraint always breaks with it)
            inside = next((p for v in within if not contract.validate_params(method.name, p := {**base, param: v})),
                          None)
            label = f"{json.dumps(outside[param])[:60]} (control {json.dumps(inside[param])[:60] if inside else 'none'})"
            out.append(BoundaryCase(method.name, param, constraint, outside, inside, label))
    return out


def _only(contract, method: str, params: dict, rule: str) -> bool:
    """Whether `params` break `rule` and no other rule."""
    violations = contract.validate_params(method, params)
    return bool(violations) and all(v.rule == rule for v in violations)


def refused_fact(probe: Probe, case: BoundaryCase, reply: Reply) -> Fact:
    """The outside value must be refused with a documented error (a result is accepting invalid input)."""
    exchanges = (reply.exchange.as_dict(),) if reply.exchange else ()
    if reply.lost or reply.timeout:
        return Fact(case.name, False, "a documented error", reply.summary(), exchanges, {"values": case.label})
    outcome = judge(probe.contract, case.method, reply.frame, params_valid=False)
    observed = outcome.detail if not reply.ok else f"accepted: {reply.summary()}"
    return Fact(case.name, outcome.passed, "refused with a documented error", observed, exchanges,
                {"values": case.label})


def accepted_fact(probe: Probe, case: BoundaryCase, reply: Reply | None) -> Fact:
    """The control: the value just inside is accepted (a result, or a documented error that is not a
    refusal of the input, such as an unknown device)."""
    name = f"{case.name} control"
    if reply is None:
        return Fact(name, False, "a value just inside the constraint", "no valid value is known for it")
    outcome = judge(probe.contract, case.method, reply.frame, params_valid=True, strict=True)
    accepted = outcome.passed and outcome.code not in INPUT_REFUSALS
    return Fact(name, accepted, "accepted", reply.summary(),
                (reply.exchange.as_dict(),) if reply.exchange else ())


def base_candidates(method: Method, probe: Probe) -> list[dict]:
    """Valid params to build the cases on, best first: the usual valid params (real values the service
    returned), other harvested ones, each member of each enum param, and every optional param filled."""
    base = valid_params(method, probe.observed)
    out = harvested_params(method, probe.observed)
    props = method.params_schema.get("properties", {})
    for name, schema in sorted(props.items()):
        for member in (schema.get("enum") or []) if isinstance(schema, dict) else []:
            out.append({**base, name: member})
    out.append({**base, **{k: minimal_instance(v) for k, v in props.items() if k not in base}})
    unique = []
    for params in out:
        if params not in unique and not probe.contract.validate_params(method.name, params):
            unique.append(params)
    return unique or [base]


def _base(probe: Probe, cli: RpcClient, method: Method, tries: int = 8) -> tuple[dict, Reply]:
    """The first candidate base the service answers with a result (its reply is the control of every case
    whose inside params are the base), else the first candidate and its reply."""
    first = None
    for params in base_candidates(method, probe)[:tries]:
        reply = probe.reply(cli, method.name, params)
        first = first or (params, reply)
        if reply.ok:
            return params, reply
    return first


def boundary_pass(probe: Probe, methods: list[str] | None = None) -> list[Fact | Undecided]:
    """Every boundary case of every method (or `methods`), each row decided only when its control was
    accepted. A fresh session of the most privileged role per method, so a refused login cannot leak from
    one method's cases into the next. The base call comes first (its reply controls the cases that keep
    the base), then every outside value, then the other controls: a control may change state (a delete
    deletes, a stop stops), so none is sent twice."""
    contract = probe.contract
    produce(probe)
    rows: list[Fact | Undecided] = []
    for method in [m for m in producers_first(contract) if methods is None or m.name in methods]:
        name = method.name
        if not boundary_cases(contract, method, valid_params(method, probe.observed)):
            continue
        try:
            cli = probe.role_session(contract.roles[-1])
        except RpcError as exc:
            rows.append(Undecided(f"{name} boundaries", f"no session to send them on: {exc}"))
            continue
        try:
            base, base_reply = _base(probe, cli, method)
            cases = boundary_cases(contract, method, base)
            controls = {json.dumps(base, sort_keys=True): base_reply}
            refusals = []
            for case in cases:
                cli = cli if cli.connected else probe.role_session(contract.roles[-1])
                refusals.append(refused_fact(probe, case, probe.reply(cli, name, case.outside)))
            for case, refusal in zip(cases, refusals, strict=True):
                key = json.dumps(case.inside, sort_keys=True) if case.inside is not None else None
                if key is not None and key not in controls:
                    cli = cli if cli.connected else probe.role_session(contract.roles[-1])
                    controls[key] = probe.reply(cli, name, case.inside)
                rows.append(controlled(refusal, accepted_fact(probe, case, controls.get(key) if key else None)))
        finally:
            cli.close()
    probe.undo()
    return rows or [Undecided("param boundaries", "no param of the methods checked has a constraint to test")]
