"""Params for calls that should succeed: a minimal instance of a schema, the contract's examples with
values the service itself returned substituted by name, and a hypothesis strategy for valid params."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from ivv.contract.document import Contract, Method
from ivv.contract.probe import Observed


def minimal_instance(schema: Any) -> Any:
    """A small value satisfying common schema shapes (enum, const, default, examples, types)."""
    if not isinstance(schema, dict):
        return None
    for key in ("const",):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0])
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: minimal_instance(props.get(k, {})) for k in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return None


def valid_params(method: Method, observed: Observed | None = None) -> dict:
    """Params for a call that should succeed: the contract's first example, else a minimal instance,
    with values the service itself returned (a real filename, device) substituted by name."""
    base = dict(method.examples[0]["params"]) if method.examples and isinstance(
        method.examples[0]["params"], dict) else minimal_instance(method.params_schema) or {}
    if observed is not None:
        for name in list(base):
            for value in observed.value_for(name, method.name):
                candidate = {**base, name: value}
                if not _schema_errors(method.params_schema, candidate):
                    base = candidate
                    break
    return base


def harvested_params(method: Method, observed: Observed, limit: int = 3) -> list[dict]:
    """Up to ``limit`` param sets using different values the service returned (e.g. several filenames)."""
    base = valid_params(method, observed)
    out = [base]
    for name in list(base):
        for value in observed.value_for(name, method.name):
            candidate = {**base, name: value}
            if candidate not in out and not _schema_errors(method.params_schema, candidate):
                out.append(candidate)
            if len(out) >= limit:
                return out
    return out


def _schema_errors(schema: dict, value: Any) -> bool:
    return any(True for _ in Draft202012Validator(schema).iter_errors(value))


def schema_strategy(schema: Any):
    """Hypothesis strategy for values valid against ``schema``.

    Objects are composed here (fixed required keys, optional others) and leaves come from
    hypothesis-jsonschema: its own object strategy relies on hypothesis internals that newer
    hypothesis releases changed (``many.more``), and params objects are simple enough to build directly.
    """
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    if isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema) \
            and not any(k in schema for k in ("oneOf", "anyOf", "allOf", "patternProperties", "if")):
        props = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if k in props]
        optional = {k: schema_strategy(v) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries({k: schema_strategy(props[k]) for k in required}, optional=optional)
    return from_schema(schema if schema not in ({}, True) else {"type": ["string", "integer", "boolean", "null"]})


def undo_calls(contract: Contract, observed: Observed | None = None) -> list[tuple[str, dict]]:
    """The calls that stop what checks started (start_x -> stop_x with valid params), to leave the service
    as it was: best effort, after a check that called every method."""
    out = []
    for name in contract.methods:
        if name.startswith("start_") and ("stop_" + name[6:]) in contract.methods:
            stop = contract.method("stop_" + name[6:])
            out.append((stop.name, valid_params(stop, observed)))
    return out


PRODUCERS = ("take_", "start_", "create_", "capture_", "add_")


def producers_first(contract: Contract) -> list[Method]:
    """Methods ordered so producers come before consumers: creating calls first, then stopping ones,
    deleting calls last (a file taken can then be read, a recording started can be stopped)."""
    def rank(m: Method) -> int:
        n = m.name
        if n.startswith((*PRODUCERS, "get_camera")):
            return 0
        return 1 if n.startswith("stop_") else (3 if n.startswith(("delete_", "remove_", "cleanup_")) else 2)
    return sorted(contract.methods.values(), key=rank)
