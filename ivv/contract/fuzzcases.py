"""Fuzz cases: the bad inputs sent to a method, built from its params schema.

`coverage_cases` puts every kind of bad input on every param once, deterministically; `fuzz_cases` is
the hypothesis strategy for the random part (and, focused on one mutation and param, for shrinking a
failure the coverage pass met). Kinds: wrong types, missing required fields, huge strings, odd unicode,
path traversal, extreme numbers, deep nesting, extra fields, non-object params, nulls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ivv.contract.document import Method
from ivv.contract.params import schema_strategy
from ivv.rpc.auth import redact_text

MUTATIONS = ("valid", "wrong_type", "missing_required", "huge_string", "unicode", "path_traversal",
             "extreme_number", "deep_nesting", "extra_field", "params_not_object", "null_value")
# Path traversal payloads aim at canary names, never at real system files: a service that does not
# confine names would otherwise overwrite or delete /etc/passwd on the harness host or the device. A
# canary that appears afterwards (next to the data folders or in /tmp) is a write outside the data dirs.
CANARY = "ivv-canary-fuzz"
TRAVERSALS = (f"../{CANARY}.jpg", f"../../{CANARY}.jpg", "../" * 12 + f"tmp/{CANARY}.jpg", f"/tmp/{CANARY}.jpg",
              f"..\\..\\{CANARY}.jpg", f"%2e%2e%2f{CANARY}.jpg", f"....//....//{CANARY}.jpg",
              f"a/../../{CANARY}.jpg", f"{CANARY}\x00.jpg", f"~/{CANARY}.jpg", ".", "..", "")
PATH_LIKE = ("file", "path", "name", "dir")
EXTREME_NUMBERS = (-1, 0, -(2**31), 2**31, -(2**63), 2**63, 2**64 + 1, 10**40, -1e308, 1e308, 0.5, -0.0,
                   float("inf"), float("nan"))
DEEP = '"__ivv_deep__"'


@dataclass
class FuzzCase:
    method: str
    mutation: str
    frame: str  # the exact text sent
    param: str | None = None  # the param the mutation hit (None: the whole params)

    def __repr__(self) -> str:
        return f"FuzzCase({self.method!r}, {self.mutation!r}, frame={redact_text(self.frame)[:300]!r})"


# -- strategies --------------------------------------------------------------------------------------
def _other_type(schema: dict) -> st.SearchStrategy:
    kind = schema.get("type") if isinstance(schema, dict) else None
    fractional = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
    pool = {"string": st.text(max_size=8), "integer": st.integers(-5, 5), "number": fractional,
            "boolean": st.booleans(), "array": st.lists(st.integers(), max_size=2),
            "object": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), "null": st.none()}
    kinds = {kind} if isinstance(kind, str) else set(kind or ())
    if "number" in kinds:
        kinds.add("integer")
    if "integer" in kinds:
        kinds.discard("number")  # 1.5 is the wrong type for an integer (1.0 would not be)
    return st.one_of([s for k, s in pool.items() if k not in kinds])


def _json_values() -> st.SearchStrategy:
    return st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                        max_leaves=6)


@st.composite
def fuzz_cases(draw, method: Method, example: dict | None = None, mutation: str | None = None,
               param: str | None = None) -> FuzzCase:
    """One mutated request frame for ``method`` (``mutation`` and ``param`` fixed when focusing on a
    failure the coverage pass found, so hypothesis shrinks that failure)."""
    base_strategy = schema_strategy(method.params_schema)
    if example:  # mostly real values (a connected device), so a mutation reaches the code behind the checks
        base_strategy = st.one_of(st.just(example), st.just(example), st.just(example), base_strategy)
    params: Any = dict(draw(base_strategy))
    mutation = mutation or draw(st.sampled_from(MUTATIONS))
    props = method.params_schema.get("properties", {})
    names = sorted(props) or ["value"]
    name = param or draw(st.sampled_from(names))
    deep = 0
    if mutation == "wrong_type":
        params[name] = draw(_other_type(props.get(name, {})))
    elif mutation == "missing_required" and method.required_params:
        params.pop(param if param in method.required_params else draw(st.sampled_from(method.required_params)), None)
    elif mutation == "huge_string":
        # Drawn mostly huge; the lower bound of 1 lets shrinking find the real length limit of a failure.
        params[name] = draw(st.sampled_from("Aé\u6f22\U0001f600/")) * draw(st.integers(1, 120_000))
    elif mutation == "unicode":
        params[name] = draw(st.text(st.characters(codec=None, categories=None), min_size=1, max_size=40))
    elif mutation == "path_traversal":
        pathish = [n for n in names if any(w in n.lower() for w in PATH_LIKE)]
        name = param or (draw(st.sampled_from(pathish)) if pathish else name)
        params[name] = draw(st.sampled_from(TRAVERSALS))
    elif mutation == "extreme_number":
        params[name] = draw(st.sampled_from(EXTREME_NUMBERS) | st.integers())
    elif mutation == "deep_nesting":
        deep = draw(st.integers(20, 3000))
        params[name] = "__ivv_deep__"
    elif mutation == "extra_field":
        params[draw(st.text(min_size=1, max_size=12))] = draw(_json_values())
    elif mutation == "params_not_object":
        params = draw(st.one_of(st.lists(_json_values(), max_size=3), st.integers(), st.text(max_size=10),
                                st.booleans()))
    elif mutation == "null_value":
        params[name] = None
    req_id = draw(st.integers(1, 10**6))
    frame = json.dumps({"jsonrpc": "2.0", "method": method.name, "params": params, "id": req_id},
                       ensure_ascii=draw(st.booleans()), allow_nan=True)
    if deep:
        frame = frame.replace(DEEP, "[" * deep + "]" * deep, 1)
    return FuzzCase(method.name, mutation, frame, name)


_SAMPLE_OF_TYPE = {"string": "x", "integer": 12, "number": 1.5, "boolean": True, "array": [1], "object": {"a": 1}}


def coverage_cases(method: Method, example: dict | None = None) -> list[FuzzCase]:
    """Every kind of bad input on every param once, deterministically: a bug tied to one param and one
    kind of input is met whatever the random part draws. (Hypothesis then shrinks what this finds.)"""
    props = method.params_schema.get("properties", {})
    base = dict(example or {})
    cases: list[tuple[str, str | None, Any, int]] = []
    for name in sorted(props) or ["value"]:
        schema = props.get(name, {})
        kinds = schema.get("type", []) if isinstance(schema, dict) else []
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        same = set(kinds) | ({"integer"} if "number" in kinds else set())
        wrong = next(v for k, v in _SAMPLE_OF_TYPE.items() if k not in same)
        cases += [("wrong_type", name, wrong, 0), ("huge_string", name, "A" * 10_000, 0),
                  ("unicode", name, "\u202e\x00\ud7ff\U0001f600\u00e9", 0), ("null_value", name, None, 0)]
        if {"integer", "number"} & set(kinds) or not kinds:
            cases += [("extreme_number", name, 2**63, 0), ("extreme_number", name, -1, 0)]
        if any(w in name.lower() for w in PATH_LIKE):
            cases += [("path_traversal", name, TRAVERSALS[0], 0), ("path_traversal", name, TRAVERSALS[2], 0)]
    first = (sorted(props) or ["value"])[0]
    cases += [("missing_required", name, ..., 0) for name in method.required_params]
    cases += [("extra_field", "__ivv_extra__", {"a": [1]}, 0), ("deep_nesting", first, DEEP.strip('"'), 1000)]
    out = []
    for i, (mutation, name, value, deep) in enumerate(cases, start=1):
        params = dict(base)
        if value is ...:
            params.pop(name, None)
        else:
            params[name] = value
        frame = json.dumps({"jsonrpc": "2.0", "method": method.name, "params": params, "id": i}, allow_nan=True)
        if deep:
            frame = frame.replace(DEEP, "[" * deep + "]" * deep, 1)
        out.append(FuzzCase(method.name, mutation, frame, name))
    out.append(FuzzCase(method.name, "params_not_object",
                        json.dumps({"jsonrpc": "2.0", "method": method.name, "params": [1], "id": len(out) + 1})))
    return out

