"""The drift table: what the contract documents against what the service was seen doing (error codes
used, result fields present, methods present or extra, notification fields)."""

from __future__ import annotations

from typing import Any

from ivv.contract.document import Contract
from ivv.contract.probe import Observed
from ivv.evidence.facts import Fact


def _documented_fields(schema: Any) -> tuple[set[str], set[str]]:
    """Top-level properties and required names of an object schema, through allOf/anyOf/oneOf parts."""
    if not isinstance(schema, dict):
        return set(), set()
    props, required = set(schema.get("properties", {})), set(schema.get("required", []))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            p, r = _documented_fields(part)
            props |= p
            if key == "allOf":
                required |= r
    return props, required


def drift(contract: Contract, observed: Observed) -> list[Fact]:
    """Documented vs observed: codes used, result fields present, methods, notifications."""
    rows = []
    documented = set(contract.documented_codes())
    seen_codes = set().union(*observed.codes.values()) if observed.codes else set()
    extra_codes = sorted(seen_codes - documented)
    unused = sorted(set(contract.error_codes) - seen_codes)
    rows.append(Fact("error codes", not extra_codes, f"{sorted(documented)}", f"seen {sorted(seen_codes)}"
                     + (f"; undocumented {extra_codes}" if extra_codes else "")
                     + (f"; documented but never seen {unused}" if unused else "")))
    for name, m in contract.methods.items():
        props, required = _documented_fields(m.result_schema)
        fields_seen = observed.fields.get(name)
        if fields_seen is None:
            state = "absent (method not found)" if name in observed.absent else (
                "no result observed" if name not in observed.present else "non-object result")
            rows.append(Fact(f"method {name}", name not in observed.absent, f"{len(props)} documented fields", state))
            continue
        missing = sorted(required - fields_seen)
        undocumented = sorted(fields_seen - props) if props else []
        codes = sorted(observed.codes.get(name, set()))
        rows.append(Fact(f"method {name}", not missing, f"fields {sorted(props)}",
                         f"seen {sorted(fields_seen)}" + (f"; missing {missing}" if missing else "")
                         + (f"; undocumented {undocumented}" if undocumented else "")
                         + (f"; codes {codes}" if codes else "")))
    for name in sorted(observed.extra):
        rows.append(Fact(f"method {name}", False, "not in the contract", "answered by the service"))
    for name, fields_seen in observed.notifications.items():
        schema = contract.notifications.get(name)
        props = set(schema.schema.get("properties", {})) if schema else set()
        rows.append(Fact(f"notification {name}", schema is not None and fields_seen <= props | fields_seen,
                         f"fields {sorted(props)}" if schema else "not in the contract", f"seen {sorted(fields_seen)}"))
    return rows

