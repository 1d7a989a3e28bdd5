"""The drift table: what the contract documents against what the service was seen doing (error codes
used, result fields present, methods present or extra, notification fields).

A row is decided only on something observed: a method with no result seen, or no error reply at all, is
NOT VERIFIED (so the table run on its own, with nothing called, decides nothing). Methods and
notifications are held to the same rule: a documented required field missing from what was seen is a
FAIL, fields the contract does not name are listed.
"""

from __future__ import annotations

from typing import Any

from ivv.contract.document import INTERNAL_ERROR, Contract
from ivv.contract.probe import Observed
from ivv.evidence.facts import Fact, Undecided


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


def _fields_row(name: str, schema: Any, seen: set[str], codes: list[int] = ()) -> Fact:
    props, required = _documented_fields(schema)
    missing = sorted(required - seen)
    undocumented = sorted(seen - props) if props else []
    return Fact(name, not missing, f"fields {sorted(props)}",
                f"seen {sorted(seen)}" + (f"; missing {missing}" if missing else "")
                + (f"; undocumented {undocumented}" if undocumented else "") + (f"; codes {codes}" if codes else ""))


def _codes_row(contract: Contract, observed: Observed) -> Fact | Undecided:
    documented = set(contract.documented_codes())
    seen = set().union(*observed.codes.values()) if observed.codes else set()
    if not seen:
        return Undecided("error codes", "no error reply was observed")
    extra = sorted(seen - documented)
    internal = sorted(m for m, codes in observed.codes.items() if INTERNAL_ERROR in codes)
    unused = sorted(set(contract.error_codes) - seen)
    return Fact("error codes", not extra and not internal, f"{sorted(documented)}, no internal error",
                f"seen {sorted(seen)}" + (f"; undocumented {extra}" if extra else "")
                + (f"; internal errors from {internal}" if internal else "")
                + (f"; documented but never seen {unused}" if unused else ""))


def drift(contract: Contract, observed: Observed) -> list[Fact | Undecided]:
    """Documented vs observed: codes used, result fields present, methods, notifications."""
    rows: list[Fact | Undecided] = [_codes_row(contract, observed)]
    for name, m in contract.methods.items():
        fields_seen = observed.fields.get(name)
        if name in observed.absent:
            rows.append(Fact(f"method {name}", False, "present", "absent (method not found)"))
        elif fields_seen is not None:
            rows.append(_fields_row(f"method {name}", m.result_schema, fields_seen,
                                    sorted(observed.codes.get(name, set()))))
        elif name in observed.present:
            rows.append(Fact(f"method {name}", True, "a result", "non-object result"))
        else:
            rows.append(Undecided(f"method {name}", "no result observed"))
    for name in sorted(observed.extra):
        rows.append(Fact(f"method {name}", False, "not in the contract", "answered by the service"))
    for name, fields_seen in sorted(observed.notifications.items()):
        schema = contract.notifications.get(name)
        if schema is None:
            rows.append(Fact(f"notification {name}", False, "not in the contract", f"seen {sorted(fields_seen)}"))
        else:
            rows.append(_fields_row(f"notification {name}", schema.schema, fields_seen))
    return rows
