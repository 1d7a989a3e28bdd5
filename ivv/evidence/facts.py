"""Facts judged before they become evidence: the one type every probe and check returns.

A probe says what it expected, what it saw and the exchange that shows it (`Fact`), or why it could not
decide (`Undecided`). Two rules live here and nowhere else:

- **positive control**: a negative probe (a refusal, a size limit, a traversal) proves something only when
  the same probe under conditions where it must succeed did succeed; `controlled(probe, control)` turns
  the probe into `Undecided` when its control failed.
- **minimum observations**: a check that observed nothing decides nothing; `observed(name, n, minimum)`
  returns `Undecided` below the minimum.

`record(evidence, results)` writes facts as checks and undecided ones as gaps, so a suite never decides
PASS on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ivv.evidence.verdict import Verdict


@dataclass(frozen=True)
class Fact:
    """One observation judged against what was expected; `passed` is its verdict."""

    name: str
    passed: bool
    expected: Any = None
    observed: Any = None
    exchanges: tuple[Any, ...] = ()          # exact exchanges: dicts (frames, timing) or transcript text
    details: Mapping[str, Any] = field(default_factory=dict)
    criterion: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.PASS if self.passed else Verdict.FAIL

    def transcript(self) -> str:
        """The fact with its exchanges as plain text, for an artifact."""
        out = [f"## {self.name}: {self.verdict}", f"expected: {self.expected}", f"observed: {self.observed}"]
        for exchange in self.exchanges:
            if isinstance(exchange, str):
                out.append(exchange.rstrip("\n"))
                continue
            out.append(f">>> {exchange.get('sent', '')}")
            out += [f"<<< {reply}" for reply in exchange.get("received", [])]
            out.append(f"    ({exchange.get('outcome')}, {exchange.get('elapsed_ms')} ms)")
        return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Undecided:
    """A probe that could not decide (nothing to compare with, its control failed, nothing observed)."""

    name: str
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)
    criterion: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.NOT_VERIFIED


Result = Fact | Undecided


def controlled(probe: Result, control: Result) -> Result:
    """The probe, if its positive control succeeded; else Undecided naming the failed control."""
    if isinstance(probe, Undecided):
        return probe
    if isinstance(control, Undecided) or not control.passed:
        seen = control.reason if isinstance(control, Undecided) else control.observed
        return Undecided(probe.name, f"its positive control did not succeed ({control.name}: {seen}), so the "
                         "probe proves nothing", {"control": _plain(control)}, probe.criterion)
    return replace(probe, details={**probe.details, "control": control.name})


def observed(name: str, count: int, minimum: int = 1, criterion: str | None = None,
             what: str = "observations") -> Undecided | None:
    """Undecided when fewer than `minimum` things were observed (zero observations is never a PASS)."""
    if count >= minimum:
        return None
    return Undecided(name, f"{count} {what} (at least {minimum} needed to decide)", {"count": count},
                     criterion)


def _plain(result: Result) -> dict[str, Any]:
    if isinstance(result, Undecided):
        return {"name": result.name, "reason": result.reason}
    return {"name": result.name, "passed": result.passed, "expected": result.expected,
            "observed": result.observed}


def record(evidence, results: Result | Iterable[Result], criterion: str | None = None,
           artifact: str | None = None) -> list:
    """Facts become checks (their transcript saved as an artifact when they have exchanges), undecided
    results become gaps. `criterion` is used where a result names none."""
    items = [results] if isinstance(results, (Fact, Undecided)) else list(results)
    out = []
    for item in items:
        cid = item.criterion or criterion
        if cid is None:
            raise ValueError(f"{item.name!r}: no criterion named for this result")
        if isinstance(item, Undecided):
            out.append(evidence.gap(cid, f"{item.name}: {item.reason}", details=dict(item.details) or None))
            continue
        arts = [evidence.artifact(artifact or f"{item.name}.txt", item.transcript())] if item.exchanges else []
        out.append(evidence.check(cid, item.name, item.passed, expected=item.expected, observed=item.observed,
                                  artifacts=arts, details=dict(item.details) or None))
    return out
