"""How one reply to one call is judged, in one place, for conformance, the auth matrix's allowed cells,
fuzzing and the boundary pass.

- An internal error (-32603) is never conformance, and method-not-found is never an answer of a
  documented method: the standard codes are not documented for every method.
- To a valid call (`strict`), an error counts only when the method documents it (`answer_codes`); to any
  other call, the standard refusals of bad input count too (`documented_codes`).
- A result to params that break the contract is accepting invalid input; a result to valid params must
  validate against the method's result schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivv.contract.document import INTERNAL_ERROR, METHOD_NOT_FOUND, Contract

RESULT = "result"
INVALID_RESULT = "invalid result"
DOCUMENTED_ERROR = "documented error"
INTERNAL = "internal error"
NOT_FOUND = "method not found"
UNDOCUMENTED = "undocumented error"
ACCEPTED_INVALID = "accepted invalid input"
NOT_A_RESPONSE = "not a response"


@dataclass(frozen=True)
class Outcome:
    """What one reply came to: `kind` (one of the names above), whether that is acceptable here, and why."""

    kind: str
    passed: bool
    detail: str
    code: int | None = None
    violations: tuple = ()

    @property
    def is_result(self) -> bool:
        return self.kind in (RESULT, INVALID_RESULT, ACCEPTED_INVALID)


def judge(contract: Contract, method: str, frame: Any, *, params_valid: bool, strict: bool = False) -> Outcome:
    """Judge `frame`, the reply to a call of `method` whose params were valid or not (`params_valid`);
    `strict`: the call should succeed, so only the method's own errors are acceptable."""
    if not isinstance(frame, dict) or ("result" in frame) == ("error" in frame):
        return Outcome(NOT_A_RESPONSE, False, f"not a JSON-RPC response: {str(frame)[:200]}")
    if "error" in frame:
        code = (frame.get("error") or {}).get("code") if isinstance(frame.get("error"), dict) else None
        if code == INTERNAL_ERROR:
            return Outcome(INTERNAL, False, f"error {code}: an internal error is never a documented answer", code)
        if code == METHOD_NOT_FOUND:
            return Outcome(NOT_FOUND, False, f"error {code}: method not found", code)
        allowed = contract.answer_codes(method) if strict else contract.documented_codes(method)
        if code in allowed:
            return Outcome(DOCUMENTED_ERROR, True, f"error {code}", code)
        return Outcome(UNDOCUMENTED, False, f"error {code} (undocumented for {method})", code)
    if not params_valid:
        return Outcome(ACCEPTED_INVALID, False, "a result to params that break the contract")
    errors = contract.validate_result(method, frame["result"])
    if errors:
        return Outcome(INVALID_RESULT, False, "; ".join(map(str, errors[:3])), violations=tuple(errors))
    return Outcome(RESULT, True, "result valid")
