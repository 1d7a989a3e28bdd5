"""An OpenRPC contract: loaded, checked on load, and used to validate params, results and notifications.

The OpenRPC meta-schema is not reliably packaged, so the parts ivv relies on are checked against a small
JSON Schema of our own (:data:`DOCUMENT_SCHEMA`). Local ``$ref`` s are inlined once on load, so the
per-method schemas are self-contained for both ``jsonschema`` and ``hypothesis-jsonschema``.

Extensions read from the document (all optional):
- method ``x-role``: the least role that may call it (``none``/absent: no authentication needed);
  ``x-roles`` (a list of allowed roles) is accepted too.
- top level ``x-roles``: role names from least to most privileged (default viewer, operator, admin).
- top level ``x-notifications``: server-to-client notifications, each ``{name, params: [...]}`` like a
  method, or ``{name, schema}``.
- ``x-error-codes`` / ``components.errors``: the documented error codes, each ``{code, message}``.
- notification ``x-event-time``: the param holding the event's time on the service's clock (epoch
  seconds), so latency counts from the event itself.
- top level ``x-clock``: ``{method, field}``, a method whose result field is the service's clock (epoch
  seconds): ivv estimates the clock's offset from it (ivv.clock) to place event times on its own clock.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from ivv.errors import ContractError

DEFAULT_ROLES = ("viewer", "operator", "admin")
_MISSING = re.compile(r"^'(.+)' is a required property$")
STANDARD_ERRORS = {-32700: "Parse error", -32600: "Invalid Request", -32601: "Method not found",
                   -32602: "Invalid params", -32603: "Internal error"}
METHOD_NOT_FOUND, INTERNAL_ERROR = -32601, -32603
INPUT_REFUSALS = frozenset({-32700, -32600, -32602})  # the specification's answers to bad input, any method
READ_ONLY_PREFIXES = ("get_", "list_")
READ_ONLY_NAMES = ("ping",)

_CONTENT_DESCRIPTOR = {
    "type": "object",
    "required": ["name", "schema"],
    "properties": {"name": {"type": "string", "minLength": 1}, "required": {"type": "boolean"},
                   "schema": {"type": ["object", "boolean"]}},
}
_ERROR = {"type": "object", "required": ["code", "message"],
          "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}
_REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}

DOCUMENT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "OpenRPC document (the parts ivv uses)",
    "type": "object",
    "required": ["openrpc", "info", "methods"],
    "properties": {
        "openrpc": {"type": "string", "pattern": r"^1\.\d+\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"],
                 "properties": {"title": {"type": "string"}, "version": {"type": "string"}}},
        "methods": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["name", "params"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "params": {"type": "array", "items": {"anyOf": [_CONTENT_DESCRIPTOR, _REF]}},
                "result": {"anyOf": [_CONTENT_DESCRIPTOR, _REF]},
                "errors": {"type": "array", "items": {"anyOf": [_ERROR, _REF]}},
                "examples": {"type": "array", "items": {"type": "object"}},
                "paramStructure": {"enum": ["by-name", "by-position", "either"]},
                "x-role": {"type": ["string", "null"]},
                "x-roles": {"type": "array", "items": {"type": "string"}},
            },
        }},
        "components": {"type": "object", "properties": {
            "schemas": {"type": "object"},
            "errors": {"type": "object", "additionalProperties": _ERROR},
            "contentDescriptors": {"type": "object", "additionalProperties": _CONTENT_DESCRIPTOR},
        }},
        "x-roles": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "x-notifications": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                       "properties": {"x-event-time": {"type": "string"}}}},
        "x-clock": {"type": "object", "required": ["method", "field"], "additionalProperties": False,
                    "properties": {"method": {"type": "string"}, "field": {"type": "string"}}},
        "x-error-codes": {"type": "array", "items": _ERROR},
    },
}


@dataclass(frozen=True)
class Violation:
    """One way a value breaks its schema: names the method, the JSON path and the schema rule."""

    method: str
    part: str  # params | result | notification
    path: str  # JSON path into the value, e.g. $.cameras[0].device
    rule: str  # the failing schema keyword, e.g. required, type, enum
    message: str
    schema_path: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.part} at {self.path}: {self.rule}: {self.message}"

    def as_dict(self) -> dict:
        return {"method": self.method, "part": self.part, "path": self.path, "rule": self.rule,
                "message": self.message, "schema_path": self.schema_path}


@dataclass
class Method:
    """One contract method with self-contained schemas (``$ref`` s inlined)."""

    name: str
    params: list[dict]  # content descriptors: name, required, schema
    params_schema: dict  # the by-name params object
    result_schema: dict | bool
    role: str | None  # least role allowed; None: public
    allowed_roles: tuple[str, ...] | None  # explicit list when the contract gives one
    error_codes: frozenset[int]
    examples: list[dict] = field(default_factory=list)  # [{"params": {...}, "result": ...}]
    raw: dict = field(default_factory=dict)

    @property
    def required_params(self) -> list[str]:
        return [p["name"] for p in self.params if p.get("required")]


@dataclass
class Notification:
    name: str
    schema: dict
    event_time: str | None = None          # the param with the event's time (x-event-time)


def _json_path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if str(p).isidentifier() else f"[{json.dumps(p)}]")
    return out


def _resolve_pointer(doc: dict, ref: str, source: str) -> Any:
    if not ref.startswith("#/"):
        raise ContractError(f"{source}: only local $ref is supported, got {ref!r}")
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ContractError(f"{source}: $ref {ref!r} does not resolve (missing {part!r})")
        node = node[part]
    return node


def _inline(doc: dict, node: Any, source: str, seen: tuple[str, ...] = ()) -> Any:
    """Replace every local $ref by its target (recursive refs are left as an open schema)."""
    if isinstance(node, dict):
        if "$ref" in node and isinstance(node["$ref"], str):
            ref = node["$ref"]
            if ref in seen:
                return {}
            target = _inline(doc, _resolve_pointer(doc, ref, source), source, seen + (ref,))
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**target, **_inline(doc, rest, source, seen)} if rest and isinstance(target, dict) else target
        return {k: _inline(doc, v, source, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(doc, v, source, seen) for v in node]
    return node


def _params_schema(params: list[dict]) -> dict:
    return {
        "type": "object",
        "properties": {p["name"]: p.get("schema", {}) for p in params},
        "required": [p["name"] for p in params if p.get("required")],
    }


class Contract:
    """A loaded, checked OpenRPC document."""

    def __init__(self, doc: dict, source: str = "<contract>"):
        self.source = source
        errors = sorted(Draft202012Validator(DOCUMENT_SCHEMA).iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            raise ContractError(f"{source}: {_json_path(first.absolute_path)}: {first.message} "
                                f"(rule {first.validator}; {len(errors)} problem(s))")
        self.doc = doc
        self.title = doc["info"]["title"]
        self.version = doc["info"]["version"]
        self.roles: tuple[str, ...] = tuple(doc.get("x-roles") or DEFAULT_ROLES)
        comp_errors = doc.get("components", {}).get("errors", {})
        self.error_codes: dict[int, str] = {e["code"]: e["message"] for e in comp_errors.values()}
        for e in doc.get("x-error-codes", []):
            self.error_codes[e["code"]] = e["message"]
        self.methods: dict[str, Method] = {}
        for i, raw in enumerate(doc["methods"]):
            where = f"{source}: methods[{i}] ({raw.get('name')})"
            if raw["name"] in self.methods:
                raise ContractError(f"{where}: duplicate method name")
            self.methods[raw["name"]] = self._method(raw, where)
        self.notifications: dict[str, Notification] = {}
        for i, raw in enumerate(doc.get("x-notifications", [])):
            where = f"{source}: x-notifications[{i}] ({raw.get('name')})"
            if "schema" in raw:
                schema = _inline(doc, raw["schema"], where)
            else:
                params = [_inline(doc, p, where) for p in raw.get("params", [])]
                schema = _params_schema(params)
            self._check_schema(schema, where)
            self.notifications[raw["name"]] = Notification(raw["name"], schema, raw.get("x-event-time"))
        self.clock: dict | None = doc.get("x-clock")
        if self.clock is not None and self.clock.get("method") not in self.methods:
            raise ContractError(f"{source}: x-clock.method: {self.clock.get('method')!r} is not a method of the "
                                "contract; expected the method that answers the service's clock")

    # -- loading ------------------------------------------------------------------------------------
    def _check_schema(self, schema: Any, where: str) -> None:
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ContractError(f"{where}: invalid JSON Schema at {_json_path(exc.path)}: {exc.message}") from exc

    def _method(self, raw: dict, where: str) -> Method:
        doc = self.doc
        params = [_inline(doc, p, where) for p in raw.get("params", [])]
        for j, p in enumerate(params):
            if not isinstance(p, dict) or "name" not in p:
                raise ContractError(f"{where}: params[{j}] is not a content descriptor with a name")
        params_schema = _params_schema(params)
        result = _inline(doc, raw.get("result", {"name": "result", "schema": {}}), where)
        result_schema = result.get("schema", {}) if isinstance(result, dict) else {}
        self._check_schema(params_schema, where + " params")
        self._check_schema(result_schema, where + " result")
        role = raw.get("x-role")
        allowed = tuple(raw["x-roles"]) if raw.get("x-roles") else None
        if role in ("none", "public", ""):
            role = None
        if allowed and role is None:
            ranked = [r for r in self.roles if r in allowed]
            role = ranked[0] if ranked else None
        for r in [role, *(allowed or ())]:
            if r is not None and r not in self.roles:
                raise ContractError(f"{where}: x-role {r!r} is not one of the contract roles {list(self.roles)}")
        codes = set()
        for err in raw.get("errors", []):
            err = _inline(doc, err, where)
            if not isinstance(err, dict) or not isinstance(err.get("code"), int):
                raise ContractError(f"{where}: an entry of errors has no integer code")
            codes.add(err["code"])
            self.error_codes.setdefault(err["code"], err.get("message", ""))
        examples = []
        for ex in raw.get("examples", []):
            ex = _inline(doc, ex, where)
            pvals = ex.get("params", [])
            params_value = {p["name"]: p.get("value") for p in pvals} if isinstance(pvals, list) else pvals
            examples.append({"name": ex.get("name", ""), "params": params_value,
                             "result": (ex.get("result") or {}).get("value")})
        return Method(raw["name"], params, params_schema, result_schema, role, allowed, frozenset(codes),
                      examples, raw)

    # -- queries ------------------------------------------------------------------------------------
    def method(self, name: str) -> Method:
        try:
            return self.methods[name]
        except KeyError:
            raise ContractError(f"{self.source}: no method {name!r} in the contract") from None

    def answer_codes(self, method: str) -> frozenset[int]:
        """Codes `method` may answer a valid call with: the errors it lists (the contract-wide service codes
        when it lists none). Never method-not-found or internal error, and invalid params only when the
        method lists it: the standard codes are not documented for every method."""
        m = self.method(method)
        codes = set(m.error_codes) if m.error_codes else set(self.error_codes)
        return frozenset(codes - {METHOD_NOT_FOUND, INTERNAL_ERROR})

    def documented_codes(self, method: str | None = None) -> frozenset[int]:
        """With a method: what it may answer any call, valid or not (`answer_codes` plus the standard
        refusals of bad input: parse error, invalid request, invalid params). Without: every code the
        contract or JSON-RPC 2.0 defines."""
        if method in self.methods:
            return self.answer_codes(method) | INPUT_REFUSALS
        return frozenset(set(STANDARD_ERRORS) | set(self.error_codes))

    def role_rank(self, role: str | None) -> int:
        return -1 if role is None else self.roles.index(role)

    def allows(self, method: str, role: str | None) -> bool:
        """Whether ``role`` (None: unauthenticated) may call ``method`` according to the contract."""
        m = self.method(method)
        if m.allowed_roles is not None:
            return role in m.allowed_roles or (m.role is None)
        if m.role is None:
            return True
        return role is not None and role in self.roles and self.role_rank(role) >= self.role_rank(m.role)

    def least_role(self, method: str) -> str | None:
        m = self.method(method)
        return m.allowed_roles[0] if m.allowed_roles else m.role

    def protected_methods(self, login: str | None = None) -> list[str]:
        """Every method that needs some role (the login call `login` and public methods excluded)."""
        return [name for name, m in self.methods.items()
                if name != login and (m.role is not None or m.allowed_roles)]

    def read_only_method(self, role: str, exact: bool = True, login: str | None = None) -> str | None:
        """A method needing `role` that has no required params and only reads (ping, get_*, list_*)."""
        candidates = []
        for name, m in self.methods.items():
            if name == login or m.required_params:
                continue
            if not (name in READ_ONLY_NAMES or name.startswith(READ_ONLY_PREFIXES)):
                continue
            least = self.least_role(name)
            if least is None:
                continue
            if least == role or (not exact and self.allows(name, role)):
                candidates.append(name)
        return sorted(candidates, key=lambda n: (n not in READ_ONLY_NAMES, n))[0] if candidates else None

    def lowest_method(self, login: str | None = None) -> str | None:
        """The cheapest protected read-only method: what a session must not reach without credentials."""
        for role in self.roles:
            name = self.read_only_method(role, login=login)
            if name:
                return name
        return None

    def code_for(self, *words: str) -> int | None:
        """The documented code whose message mentions all ``words`` (case-insensitive), if one does."""
        for code, message in sorted(self.error_codes.items(), reverse=True):
            if all(w.lower() in message.lower() for w in words):
                return code
        return None

    # -- validation ---------------------------------------------------------------------------------
    def _violations(self, name: str, part: str, schema: Any, value: Any) -> list[Violation]:
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        out = []
        for err in sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
            path = list(err.absolute_path)
            if err.validator == "required":  # point at the missing member itself: $.total, not $
                missing = _MISSING.match(err.message)
                if missing:
                    path.append(missing.group(1))
            out.append(Violation(name, part, _json_path(path), str(err.validator), err.message,
                                 "/".join(map(str, err.absolute_schema_path))))
        return out

    def validate_params(self, method: str, params: Any) -> list[Violation]:
        return self._violations(method, "params", self.method(method).params_schema,
                                {} if params is None else params)

    def validate_result(self, method: str, result: Any) -> list[Violation]:
        return self._violations(method, "result", self.method(method).result_schema, result)

    def validate_notification(self, name: str, params: Any) -> list[Violation]:
        if name not in self.notifications:
            return [Violation(name, "notification", "$", "undocumented", f"notification {name!r} is not in the contract")]
        return self._violations(name, "notification", self.notifications[name].schema, params)


def load(path: str | Path) -> Contract:
    """Read and check an OpenRPC JSON file; a problem raises ContractError naming the file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"{path}: cannot read contract: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: line {exc.lineno} column {exc.colno}: not JSON: {exc.msg}") from exc
    if not isinstance(doc, dict):
        raise ContractError(f"{path}: an OpenRPC document must be a JSON object")
    return Contract(copy.deepcopy(doc), str(path))
