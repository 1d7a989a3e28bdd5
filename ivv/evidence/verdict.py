"""The verdict of a record or criterion, the decision of a gate, and the exit statuses, as enums (plain
strings and numbers on disk).

`StrEnum` members compare equal to their text and serialise as it, so evidence.jsonl and verdicts.json
keep the words a reviewer reads ("NOT VERIFIED"), while code names them once. `ExitStatus` is the one
table of exit statuses `ivv gate`, `ivv report` and the `ivv` command use.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_VERIFIED = "NOT VERIFIED"
    WAIVED = "WAIVED"

    @property
    def severity(self) -> int:
        """Higher is worse: FAIL > NOT VERIFIED > WAIVED > PASS (a gate takes the worst of its targets)."""
        return _SEVERITY[self]


_SEVERITY = {Verdict.PASS: 0, Verdict.WAIVED: 1, Verdict.NOT_VERIFIED: 2, Verdict.FAIL: 3}


def worst(verdicts: Iterable[str]) -> Verdict:
    """The worst of some verdicts; nothing at all is NOT VERIFIED (zero observations never PASS)."""
    found = [Verdict(v) for v in verdicts]
    return max(found, key=lambda v: v.severity) if found else Verdict.NOT_VERIFIED


class Decision(StrEnum):
    PROCEED = "PROCEED"
    CONDITIONS = "PROCEED WITH CONDITIONS"
    HOLD = "HOLD"


class ExitStatus(IntEnum):
    """Exit statuses of `ivv gate` and `ivv report` (and of `ivv` on bad input)."""

    PROCEED = 0            # PROCEED or PROCEED WITH CONDITIONS (and: rendered, for `ivv report`)
    HOLD = 1               # the gate decision is HOLD
    COULD_NOT_RUN = 2      # the harness could not run: bad configuration, missing prerequisite, no verdicts
    ALTERED = 3            # the bundle was changed after it was written (hash chain, seal or verdicts)

    @classmethod
    def for_decision(cls, decision: str) -> ExitStatus:
        return cls.HOLD if Decision(decision) is Decision.HOLD else cls.PROCEED

    @classmethod
    def for_verdicts(cls, verdicts: dict, decision_counts: bool = True) -> ExitStatus:
        """Altered beats could-not-run beats the decision. `decision_counts=False` (`ivv report` without
        --check): only an altered bundle makes the status non-zero."""
        if (verdicts.get("integrity") or {}).get("status") == "altered":
            return cls.ALTERED
        if not decision_counts:
            return cls.PROCEED
        if verdicts.get("harness_errors"):
            return cls.COULD_NOT_RUN
        return cls.for_decision(verdicts["decision"])
