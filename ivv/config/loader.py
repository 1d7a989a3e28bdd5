"""Load YAML configuration and validate it against a JSON Schema, with errors that point at the line.

`load(path, schema, error=ConfigError)` returns plain data. Every problem is reported as
`file:line: field.path: what is wrong (expected ...)`, so a user can fix a gate or waiver file without
reading the schema. Dates stay strings (the schemas check their format), so YAML's implicit timestamps
cannot change a value's type behind the user's back.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ivv.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """Safe loader without implicit timestamps (dates stay ISO strings)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ivv/config/schemas/<name>.schema.json."""
    text = resources.files("ivv").joinpath("config", "schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def field_path(parts) -> str:
    """`["criteria", 2, "threshold"]` -> `criteria[2].threshold`."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_map(node: yaml.Node, path: tuple, lines: dict[tuple, int], where: str, error: type) -> None:
    """Record the 1-based line of every value; reject duplicate mapping keys (YAML would keep the last)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise error(
                    f"{where}:{line}: {field_path(path + (key,))}: duplicate key "
                    f"(first given on line {seen[key]}); each key may appear once"
                )
            seen[key] = line
            lines[path + (key,)] = line
            _line_map(value_node, path + (key,), lines, where, error)
            lines[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, path + (index,), lines, where, error)


def read_yaml(path: str | Path, error: type[ConfigError] = ConfigError) -> tuple[Any, dict[tuple, int]]:
    """Parse a YAML file into (data, {field path: line})."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}{line}: not valid YAML: {problem}") from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _line_map(node, (), lines, str(path), error)
    return data, lines


def _line_of(lines: dict[tuple, int], parts: tuple) -> int | None:
    while parts not in lines and parts:
        parts = parts[:-1]
    return lines.get(parts)


def _describe(err: jsonschema.ValidationError) -> str:
    """One readable sentence for a schema error, saying what was expected."""
    value = err.instance
    shown = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    if err.validator == "required":
        return err.message.replace("is a required property", "is missing (required)")
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        return f"{err.message}; allowed fields: {', '.join(allowed)}"
    if err.validator == "enum":
        return f"{shown} is not allowed; expected one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "type":
        return f"{shown} has the wrong type; expected {err.validator_value}"
    if err.validator == "pattern":
        hint = err.schema.get("description", f"text matching {err.validator_value}")
        return f"{shown} is not valid; expected {hint}"
    return f"{err.message}" + (f" ({err.schema['description']})" if "description" in err.schema else "")


def validate(data: Any, schema_name: str, path: str | Path, lines: dict[tuple, int],
             error: type[ConfigError] = ConfigError, describe=None, limit: int | None = None) -> None:
    """Raise `error` listing every schema violation as `file:line: field: problem`.

    `describe(err)` may word a violation for its own file kind (None: the general wording)."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    problems = []
    found = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    for err in found[:limit]:
        parts = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            extra = sorted(k for k in err.instance if k not in err.schema.get("properties", {}))
            parts = parts + (extra[0],) if extra else parts
        line = _line_of(lines, parts)
        location = f"{path}:{line}" if line else str(path)
        problems.append(f"{location}: {field_path(parts)}: {(describe and describe(err)) or _describe(err)}")
    if problems:
        raise error("\n".join(problems))


def location(path: str | Path, lines: dict[tuple, int], parts: tuple) -> str:
    """`file:line` of a field, for errors raised after schema validation."""
    line = _line_of(lines, parts)
    return f"{path}:{line}" if line else str(path)


def load(path: str | Path, schema_name: str, error: type[ConfigError] = ConfigError) -> tuple[Any, dict]:
    """Read and validate a YAML file; returns (data, line map)."""
    data, lines = read_yaml(path, error)
    if data is None:
        raise error(f"{path}: file is empty; expected a {schema_name} document")
    validate(data, schema_name, path, lines, error)
    return data, lines
