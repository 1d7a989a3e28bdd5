"""The verdict of a record or criterion and the decision of a gate, as enums (plain strings on disk).

`StrEnum` members compare equal to their text and serialise as it, so evidence.jsonl and verdicts.json
keep the words a reviewer reads ("NOT VERIFIED"), while code names them once.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_VERIFIED = "NOT VERIFIED"
    WAIVED = "WAIVED"


class Decision(StrEnum):
    PROCEED = "PROCEED"
    CONDITIONS = "PROCEED WITH CONDITIONS"
    HOLD = "HOLD"
